//! The standard normal upper tail `Q(z) = P(Z > z)` from one shared table, for the lognormal
//! survivals the pacer evaluates per busy agent and per dial in flight: a lookup and a linear
//! step where the closed form needs an `exp` and a division (erfc) on top of the `ln`.
//!
//! The table is built once (on first use) by integrating the density from the top with
//! Simpson's rule on steps much finer than the table's, so it owes nothing to a rational
//! approximation; linear interpolation between its points is within 5e-7 of `Q` (the step
//! is 1/256, and `|Q''| <= 0.25`: `h^2 / 8 * 0.25`). Past `|z| = 8` the tail is below 7e-16
//! and reads as 0 or 1.

use std::sync::OnceLock;

const Z_MAX: f64 = 8.0;
const PER_UNIT: usize = 256;
const POINTS: usize = 2 * 8 * PER_UNIT + 1;

fn table() -> &'static [f64] {
    static TABLE: OnceLock<Box<[f64]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let h = 1.0 / PER_UNIT as f64;
        let density = |z: f64| (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        // Simpson on 8 sub-steps per table step.
        let simpson = |a: f64| {
            let (n, s) = (8, h / 8.0);
            let mut sum = density(a) + density(a + h);
            for k in 1..n {
                let w = if k % 2 == 1 { 4.0 } else { 2.0 };
                sum += w * density(a + k as f64 * s);
            }
            sum * s / 3.0
        };
        let mut q = vec![0.0; POINTS];
        // The mass above +8 (6.2e-16) is where the integration starts.
        q[POINTS - 1] = 6.22e-16;
        for i in (0..POINTS - 1).rev() {
            let z = -Z_MAX + i as f64 * h;
            q[i] = q[i + 1] + simpson(z);
        }
        q.into_boxed_slice()
    })
}

/// `P(Z > z)` for a standard normal `Z` (NaN reads as 0.5: the middle).
pub(super) fn upper_tail(z: f64) -> f64 {
    if z >= Z_MAX {
        return 0.0;
    }
    if z <= -Z_MAX {
        return 1.0;
    }
    if z.is_nan() {
        return 0.5;
    }
    let x = (z + Z_MAX) * PER_UNIT as f64;
    let i = (x as usize).min(POINTS - 2);
    let t = x - i as f64;
    let q = table();
    q[i] + (q[i + 1] - q[i]) * t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_of_the_normal_tail() {
        // Q(z) to 12 digits (standard tables; Q(z) = erfc(z / sqrt 2) / 2).
        for (z, want) in [
            (0.0, 0.5),
            (1.0, 0.158_655_253_931),
            (-1.0, 0.841_344_746_069),
            (1.959_963_984_540, 0.025),
            (3.0, 0.001_349_898_032),
            (0.3, 0.382_088_577_811),
            (-2.5, 0.993_790_334_674),
        ] {
            let got = upper_tail(z);
            assert!((got - want).abs() < 5e-7, "Q({z}) = {got}, want {want}");
        }
        assert_eq!(upper_tail(9.0), 0.0);
        assert_eq!(upper_tail(-9.0), 1.0);
        assert_eq!(upper_tail(f64::NAN), 0.5);
    }

    #[test]
    fn the_table_is_a_falling_tail_from_one_to_zero() {
        let q = table();
        assert!((q[0] - 1.0).abs() < 1e-12, "{}", q[0]);
        assert!(q.windows(2).all(|w| w[0] >= w[1]));
        // Symmetry: Q(z) + Q(-z) = 1 at every table point.
        let n = q.len();
        for i in (0..n).step_by(97) {
            assert!((q[i] + q[n - 1 - i] - 1.0).abs() < 1e-12, "{i}");
        }
    }
}

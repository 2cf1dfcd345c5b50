//! The Goertzel algorithm: the strength of one frequency in a block of samples, in O(n) with no
//! FFT. Used to check recordings ("is the 1 kHz prompt in the agent channel?").

/// The amplitude (in sample units) of the `freq` Hz component of `samples` taken at `rate` Hz:
/// a full-scale sine of amplitude A at `freq` gives about A, silence or other frequencies far
/// less. 0.0 for an empty block or a frequency outside 0..rate/2.
pub fn tone_amplitude(samples: &[i16], rate: f64, freq: f64) -> f64 {
    let n = samples.len();
    if n == 0 || rate.is_nan() || rate <= 0.0 || !(0.0..=rate / 2.0).contains(&freq) {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * freq / rate;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    2.0 * power.max(0.0).sqrt() / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f64, amplitude: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = i as f64 / 8000.0;
                (amplitude * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn measures_the_tone_it_is_tuned_to() {
        let tone = sine(1000.0, 8000.0, 800);
        let a = tone_amplitude(&tone, 8000.0, 1000.0);
        assert!((a - 8000.0).abs() < 80.0, "{a}");
        assert!(tone_amplitude(&tone, 8000.0, 1400.0) < 200.0);
        assert!(tone_amplitude(&sine(440.0, 8000.0, 800), 8000.0, 1000.0) < 200.0);
        assert_eq!(tone_amplitude(&[0; 800], 8000.0, 1000.0), 0.0);
    }

    #[test]
    fn degenerate_input_is_zero_not_nan() {
        assert_eq!(tone_amplitude(&[], 8000.0, 1000.0), 0.0);
        assert_eq!(tone_amplitude(&[1, 2], 8000.0, 5000.0), 0.0);
        assert_eq!(tone_amplitude(&[1, 2], 0.0, 0.0), 0.0);
        assert_eq!(tone_amplitude(&[1, 2], f64::NAN, 10.0), 0.0);
    }
}

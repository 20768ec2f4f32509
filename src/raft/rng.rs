//! A small seeded random number generator (SplitMix64) owned by each core.
//!
//! The core must be deterministic: the same seed and the same inputs give the same outputs on every
//! machine and every build. A ten-line generator of our own guarantees that where a crate's
//! algorithm might change between versions.

/// SplitMix64 (Steele, Lea, Flood 2014): fast, statistically good enough for timeouts and for the
/// simulator's coin flips, and fully reproducible from its seed.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    /// A generator that starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng { state: seed }
    }

    /// A generator for stream `stream` of `seed`: streams of one seed are independent (a plain
    /// `seed ^ id` would give neighbouring ids shifted copies of one sequence, and servers whose
    /// election timeouts repeat each other's split every vote).
    pub fn derive(seed: u64, stream: u64) -> Self {
        let a = Rng::new(seed).next_u64();
        let b = Rng::new(stream ^ 0xD1B5_4A32_D192_ED03).next_u64();
        Rng::new(Rng::new(a ^ b.rotate_left(29)).next_u64())
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `[lo, hi)`; `lo` when the range is empty.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        // Lemire's multiply-shift: unbiased enough for spans far below 2^64.
        let span = hi - lo;
        lo + ((u128::from(self.next_u64()) * u128::from(span)) >> 64) as u64
    }

    /// True with probability `p` (clamped to [0, 1]).
    pub fn chance(&mut self, p: f64) -> bool {
        if p <= 0.0 {
            return false;
        }
        if p >= 1.0 {
            return true;
        }
        // 53 random bits give a uniform double in [0, 1).
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }

    // Streams of neighbouring ids must not be shifted copies of each other.
    #[test]
    fn derived_streams_are_unrelated() {
        for seed in [0u64, 96, 1 << 40] {
            let a: Vec<u64> = {
                let mut r = Rng::derive(seed, 2);
                (0..50).map(|_| r.range(10, 20)).collect()
            };
            let b: Vec<u64> = {
                let mut r = Rng::derive(seed, 3);
                (0..50).map(|_| r.range(10, 20)).collect()
            };
            for shift in 0..5 {
                let same = a.iter().skip(shift).zip(&b).filter(|(x, y)| x == y).count();
                assert!(same < 20, "seed {seed} shift {shift}: {same}/50 equal");
                let same = b.iter().skip(shift).zip(&a).filter(|(x, y)| x == y).count();
                assert!(same < 20, "seed {seed} shift {shift}: {same}/50 equal");
            }
        }
    }

    #[test]
    fn range_stays_in_bounds_and_covers_it() {
        let mut r = Rng::new(7);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let v = r.range(10, 20);
            assert!((10..20).contains(&v));
            seen[(v - 10) as usize] = true;
        }
        assert!(
            seen.iter().all(|s| *s),
            "every value of a small range is drawn"
        );
        assert_eq!(r.range(5, 5), 5);
    }

    #[test]
    fn chance_extremes_and_middle() {
        let mut r = Rng::new(3);
        assert!(!r.chance(0.0));
        assert!(r.chance(1.0));
        let hits = (0..10_000).filter(|_| r.chance(0.25)).count();
        assert!((2_000..3_000).contains(&hits), "{hits} hits for p=0.25");
    }
}

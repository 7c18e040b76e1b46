//! A portable, seedable random generator that draws exactly what numpy's legacy
//! `np.random.RandomState` draws.
//!
//! scikit-learn takes every random decision of its MLPs and splitters from a
//! `RandomState`; reproducing its stream is what lets us give the *same* initial weights,
//! epoch shuffles and fold indices as scikit-learn for the same `random_state`.
//!
//! [`NumpyRng`] is MT19937 seeded with numpy's `init_genrand`, with numpy's conversions
//! (`random_sample`, `uniform`, `shuffle`, `permutation`, `randint`). It also implements
//! [`rand::RngCore`], so it can feed any `rand` distribution.
//!
//! ```
//! use mlp_tune::random::NumpyRng;
//! // np.random.RandomState(0).permutation(5) == [2, 0, 1, 3, 4]
//! let mut rng = NumpyRng::new(0);
//! assert_eq!(rng.permutation(5), vec![2, 0, 1, 3, 4]);
//! ```

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// MT19937's tempering of a state word into an output.
#[inline(always)]
fn temper(mut y: u32) -> u32 {
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c_5680;
    y ^= (y << 15) & 0xefc6_0000;
    y ^ (y >> 18)
}

/// numpy's legacy `RandomState`: MT19937 with numpy's seeding and conversions.
#[derive(Clone)]
pub struct NumpyRng {
    state: Box<[u32; N]>,
    position: usize,
    /// The second value of the last polar Box-Muller pair (numpy's `has_gauss`/`gauss`).
    gauss: Option<f64>,
}

impl std::fmt::Debug for NumpyRng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NumpyRng")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl NumpyRng {
    /// `np.random.RandomState(seed)` for a seed in `0..2^32`.
    pub fn new(seed: u32) -> Self {
        let mut state = Box::new([0u32; N]);
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        NumpyRng {
            state,
            position: N,
            gauss: None,
        }
    }

    /// MT19937's state update, `mt[i] = mt[i + M] ^ twist(mt[i], mt[i + 1])` with indices
    /// mod `N`, split at the wrap-arounds so no index needs a modulo and the first part
    /// (which reads only words not yet updated) vectorizes; `MATRIX_A` is applied without a
    /// branch, since the bit that selects it is random and the branch mispredicted half the
    /// time. Same words as the textbook loop.
    fn twist(&mut self) {
        #[inline(always)]
        fn step(current: u32, next: u32, far: u32) -> u32 {
            let y = (current & UPPER_MASK) | (next & LOWER_MASK);
            far ^ (y >> 1) ^ ((y & 1).wrapping_neg() & MATRIX_A)
        }
        let mt = &mut self.state;
        for i in 0..N - M {
            mt[i] = step(mt[i], mt[i + 1], mt[i + M]);
        }
        for i in N - M..N - 1 {
            mt[i] = step(mt[i], mt[i + 1], mt[i + M - N]);
        }
        mt[N - 1] = step(mt[N - 1], mt[0], mt[M - 1]);
        self.position = 0;
    }

    /// The next tempered 32-bit MT19937 output.
    pub fn next_u32(&mut self) -> u32 {
        if self.position >= N {
            self.twist();
        }
        let word = self.state[self.position];
        self.position += 1;
        temper(word)
    }

    /// `random_sample()`: a double in `[0, 1)` with 53 random bits (two words, high first).
    pub fn random_sample(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// `uniform(low, high)`: one double, computed as numpy does (`high - low` first).
    pub fn uniform(&mut self, low: f64, high: f64) -> f64 {
        let span = high - low;
        low + span * self.random_sample()
    }

    /// numpy's `random_interval(max)`: a uniform integer in `0..=max` by masked rejection.
    pub fn random_interval(&mut self, max: u64) -> u64 {
        if max == 0 {
            return 0;
        }
        let mut mask = max;
        mask |= mask >> 1;
        mask |= mask >> 2;
        mask |= mask >> 4;
        mask |= mask >> 8;
        mask |= mask >> 16;
        mask |= mask >> 32;
        if max <= u32::MAX as u64 {
            loop {
                let v = (self.next_u32() as u64) & mask;
                if v <= max {
                    return v;
                }
            }
        } else {
            loop {
                let hi = self.next_u32() as u64;
                let lo = self.next_u32() as u64;
                let v = ((hi << 32) | lo) & mask;
                if v <= max {
                    return v;
                }
            }
        }
    }

    /// `shuffle(x)`: Fisher-Yates from the end, as numpy does for a 1-D array: for `i` from
    /// `n - 1` down to 1, `j = random_interval(i)`, then `x[i]` and `x[j]` swap.
    ///
    /// `random_interval` rejects a draw above `i` about a quarter of the time, at random, so
    /// a loop that branches on it mispredicts often (that branch and the per-draw bookkeeping
    /// were most of an epoch's shuffle). Here each draw is one step without that branch: a
    /// rejected draw swaps `x[i]` with itself and keeps `i`. The draws, the swaps that count
    /// and the generator's state afterwards are those of the loop above.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        let n = items.len();
        if n < 2 {
            return;
        }
        let Ok(mut i) = u32::try_from(n - 1) else {
            // Beyond 32-bit indices numpy draws 64-bit values: the plain loop.
            self.shuffle_by_intervals(items);
            return;
        };
        while i > 0 {
            if self.position >= N {
                self.twist();
            }
            let mut used = 0;
            for &word in &self.state[self.position..] {
                if i == 0 {
                    break;
                }
                used += 1;
                // numpy's mask: the smallest `2^b - 1` that is at least `i`.
                let value = temper(word) & (u32::MAX >> i.leading_zeros());
                let accepted = value <= i;
                let j = if accepted { value } else { i };
                items.swap(i as usize, j as usize);
                i -= u32::from(accepted);
            }
            self.position += used;
        }
    }

    /// numpy's shuffle loop as written: one `random_interval(i)` per position.
    fn shuffle_by_intervals<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.random_interval(i as u64) as usize;
            items.swap(i, j);
        }
    }

    /// `permutation(n)`: a shuffled `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }

    /// `standard_normal()`: numpy's legacy polar Box-Muller (`legacy_gauss`), which draws
    /// pairs and hands out the cached second value on the next call.
    pub fn standard_normal(&mut self) -> f64 {
        if let Some(g) = self.gauss.take() {
            return g;
        }
        loop {
            let x1 = 2.0 * self.random_sample() - 1.0;
            let x2 = 2.0 * self.random_sample() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `normal(loc, scale)`.
    pub fn normal(&mut self, loc: f64, scale: f64) -> f64 {
        loc + scale * self.standard_normal()
    }

    /// `randint(low, high)`: a uniform integer in `low..high` (`high` exclusive).
    ///
    /// Returns `low` when the range is empty or a single value.
    pub fn randint(&mut self, low: i64, high: i64) -> i64 {
        // In i128 so the widest ranges (`i64::MIN..i64::MAX`) neither overflow nor panic;
        // the span then fits a u64 and the sum wraps back into range.
        let span = i128::from(high) - i128::from(low) - 1;
        if span <= 0 {
            return low;
        }
        low.wrapping_add(self.random_interval(span as u64) as i64)
    }
}

impl rand::RngCore for NumpyRng {
    fn next_u32(&mut self) -> u32 {
        NumpyRng::next_u32(self)
    }

    fn next_u64(&mut self) -> u64 {
        let hi = NumpyRng::next_u32(self) as u64;
        let lo = NumpyRng::next_u32(self) as u64;
        (hi << 32) | lo
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(4) {
            let word = NumpyRng::next_u32(self).to_le_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The branch-free shuffle draws, swaps and leaves the generator as numpy's loop does,
    /// across the generator's refills (sizes up to a few times its 624 words, and after
    /// draws that leave it mid-block).
    #[test]
    fn shuffle_follows_numpys_loop() {
        for seed in 0..20u32 {
            for n in [0, 1, 2, 3, 5, 17, 623, 624, 625, 1000, 2049, 11610] {
                let mut fast = NumpyRng::new(seed);
                let mut slow = NumpyRng::new(seed);
                for _ in 0..(seed * 37) % 700 {
                    assert_eq!(fast.next_u32(), slow.next_u32());
                }
                let mut a: Vec<u32> = (0..n as u32).collect();
                let mut b = a.clone();
                fast.shuffle(&mut a);
                slow.shuffle_by_intervals(&mut b);
                assert_eq!(a, b, "seed {seed}, n {n}");
                assert_eq!(fast.position, slow.position);
                assert_eq!(fast.next_u32(), slow.next_u32());
            }
        }
    }

    #[test]
    fn known_numpy_values() {
        // np.random.RandomState(0).random_sample() == 0.5488135039273248
        let mut rng = NumpyRng::new(0);
        assert_eq!(rng.random_sample(), 0.548_813_503_927_324_8);
        // np.random.RandomState(42).permutation(10)
        let mut rng = NumpyRng::new(42);
        assert_eq!(rng.permutation(10), vec![8, 1, 5, 0, 7, 2, 9, 4, 3, 6]);
    }

    /// The C++ standard's check of MT19937 (`std::mt19937` seeded with 5489, numpy's
    /// `init_genrand` seeding): the 10000th output is 4123659995. It spans 16 state updates.
    #[test]
    fn ten_thousandth_output_is_the_standards() {
        let mut rng = NumpyRng::new(5489);
        for _ in 0..9999 {
            rng.next_u32();
        }
        assert_eq!(rng.next_u32(), 4_123_659_995);
    }

    #[test]
    fn standard_normal_is_numpys_legacy_gauss() {
        // np.random.RandomState(0).standard_normal(3)
        let mut rng = NumpyRng::new(0);
        let expected = [
            1.764_052_345_967_664,
            0.400_157_208_367_223_2,
            0.978_737_984_105_739_2,
        ];
        for e in expected {
            assert!((rng.standard_normal() - e).abs() < 1e-15);
        }
    }

    #[test]
    fn randint_stays_in_range() {
        let mut rng = NumpyRng::new(7);
        for _ in 0..1000 {
            let v = rng.randint(-3, 4);
            assert!((-3..4).contains(&v));
        }
        assert_eq!(rng.randint(5, 5), 5);
    }
}

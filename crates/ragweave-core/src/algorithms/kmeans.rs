//! Spherical k-means, which turns an expert's training queries into pilot embeddings.

/// Normalises `v` to unit length in place; returns false for a zero or non-finite vector.
pub fn normalize(v: &mut [f32]) -> bool {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if !(norm.is_finite() && norm > 0.0) {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= norm);
    true
}

/// Dot product, the cosine similarity of unit vectors.
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Clusters unit vectors by cosine similarity and returns `k` unit centroids (fewer when
/// there are fewer distinct points). Seeded k-means++ initialisation makes it
/// deterministic. For `k = 1` the result is the normalised mean, as in RouterRetriever.
pub fn spherical_kmeans(
    points: &[Vec<f32>],
    k: usize,
    iterations: usize,
    seed: u64,
) -> Vec<Vec<f32>> {
    if points.is_empty() || k == 0 {
        return Vec::new();
    }
    let k = k.min(points.len());
    let mut rng = SplitMix64(seed);
    let mut centroids = plus_plus_init(points, k, &mut rng);
    let mut assignment = vec![usize::MAX; points.len()];
    for _ in 0..iterations.max(1) {
        let mut changed = false;
        for (i, p) in points.iter().enumerate() {
            let best = nearest(&centroids, p);
            if assignment[i] != best {
                assignment[i] = best;
                changed = true;
            }
        }
        let dim = points[0].len();
        let mut sums = vec![vec![0.0f32; dim]; centroids.len()];
        for (p, &c) in points.iter().zip(&assignment) {
            sums[c].iter_mut().zip(p).for_each(|(s, x)| *s += x);
        }
        for (c, mut sum) in sums.into_iter().enumerate() {
            // An emptied cluster keeps its old centroid rather than collapsing to zero.
            if normalize(&mut sum) {
                centroids[c] = sum;
            }
        }
        if !changed {
            break;
        }
    }
    centroids
}

fn nearest(centroids: &[Vec<f32>], p: &[f32]) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, c) in centroids.iter().enumerate() {
        let s = dot(c, p);
        if s > best.1 {
            best = (i, s);
        }
    }
    best.0
}

fn plus_plus_init(points: &[Vec<f32>], k: usize, rng: &mut SplitMix64) -> Vec<Vec<f32>> {
    let mut centroids = vec![points[rng.below(points.len())].clone()];
    while centroids.len() < k {
        // Distance for unit vectors: 1 - cosine, squared as k-means++ prescribes.
        let weights: Vec<f64> = points
            .iter()
            .map(|p| {
                let d = 1.0 - f64::from(dot(&centroids[nearest(&centroids, p)], p));
                d.max(0.0).powi(2)
            })
            .collect();
        let total: f64 = weights.iter().sum();
        if total <= 0.0 {
            break; // every point coincides with a centroid
        }
        let mut target = rng.unit() * total;
        let mut pick = points.len() - 1;
        for (i, w) in weights.iter().enumerate() {
            if target < *w {
                pick = i;
                break;
            }
            target -= w;
        }
        centroids.push(points[pick].clone());
    }
    centroids
}

/// A tiny deterministic generator; k-means needs no cryptographic randomness.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: usize) -> usize {
        (self.unit() * n as f64) as usize % n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(v: &[f32]) -> Vec<f32> {
        let mut v = v.to_vec();
        normalize(&mut v);
        v
    }

    #[test]
    fn k1_is_the_normalised_mean() {
        let pts = vec![unit(&[1.0, 0.0]), unit(&[0.0, 1.0])];
        let c = spherical_kmeans(&pts, 1, 10, 7);
        assert_eq!(c.len(), 1);
        let s = std::f32::consts::FRAC_1_SQRT_2;
        assert!((c[0][0] - s).abs() < 1e-6 && (c[0][1] - s).abs() < 1e-6);
    }

    #[test]
    fn separates_two_clear_clusters() {
        let mut pts = Vec::new();
        for i in 0..10 {
            let e = i as f32 * 0.01;
            pts.push(unit(&[1.0, e, 0.0]));
            pts.push(unit(&[0.0, e, 1.0]));
        }
        let c = spherical_kmeans(&pts, 2, 50, 1);
        assert_eq!(c.len(), 2);
        let near_x = c.iter().filter(|c| c[0] > 0.99).count();
        let near_z = c.iter().filter(|c| c[2] > 0.99).count();
        assert_eq!((near_x, near_z), (1, 1), "{c:?}");
    }

    #[test]
    fn more_clusters_than_points_and_empty_input() {
        let pts = vec![unit(&[1.0, 0.0])];
        assert_eq!(spherical_kmeans(&pts, 5, 10, 0).len(), 1);
        assert!(spherical_kmeans(&[], 3, 10, 0).is_empty());
        let mut z = vec![0.0, 0.0];
        assert!(!normalize(&mut z));
    }
}

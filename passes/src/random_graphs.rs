//! Seeded random layer graphs for the brute-force and property tests of the
//! scheduler and the tile plan.

use crate::graph::{GraphBuilder, LayerGraph, PoolKind, Window};

/// A small deterministic generator (xorshift).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// What a random network is made of.
pub(crate) struct Profile {
    /// The input's shape.
    pub(crate) input: [i64; 4],
    /// Output channels of the 3x3 convs, and of the 1x1 convs.
    pub(crate) channels: [i64; 2],
    /// The smallest height a 3x3 stride-2 max pool is drawn for (below it, a
    /// depthwise conv).
    pub(crate) pool_min_height: i64,
    /// Also draw stride-2 convs (1x1, which skip rows, and 3x3).
    pub(crate) strided: bool,
    /// End one network in three with a global pool.
    pub(crate) global_pool: bool,
}

/// A random network of `ops` ops. As a chain, every op reads the previous
/// result; as a DAG, ops also read earlier results (joins by add or concat,
/// forks by reuse). Every value nobody reads is an output.
pub(crate) fn random_graph(rng: &mut Rng, ops: usize, dag: bool, profile: &Profile) -> LayerGraph {
    let [wide, narrow] = profile.channels;
    let mut b = GraphBuilder::new("random", 4);
    let mut values = vec![b.input(&profile.input).unwrap()];
    let strided = if profile.strided { 2 } else { 0 };
    for i in 0..ops {
        let label = format!("n{i}");
        let last = *values.last().unwrap();
        let pick = if dag {
            values[rng.below(values.len())]
        } else {
            last
        };
        let shape = b.shape(pick).to_vec();
        let (c, h) = (shape[1], shape[2]);
        let joinable: Vec<usize> = values
            .iter()
            .copied()
            .filter(|&v| v != pick && b.shape(v)[2] == h)
            .collect();
        let joins = if dag && !joinable.is_empty() { 2 } else { 0 };
        let v = match rng.below(5 + strided + joins) {
            0 => b
                .conv2d(&label, pick, wide, Window::square(3, 1, 1), 1)
                .unwrap(),
            1 => b
                .conv2d(&label, pick, narrow, Window::square(1, 1, 0), 1)
                .unwrap(),
            2 => b.unary(&label, "relu", pick).unwrap(),
            3 if h >= profile.pool_min_height => b
                .pool2d(&label, pick, PoolKind::Max, Window::square(3, 2, 1), false)
                .unwrap(),
            3 => b
                .conv2d(&label, pick, c, Window::square(3, 1, 1), c)
                .unwrap(),
            4 => b
                .conv2d(&label, pick, wide, Window::square(3, 1, 2), 1)
                .unwrap(),
            5 if profile.strided && h >= 3 => b
                .conv2d(&label, pick, wide, Window::square(1, 2, 0), 1)
                .unwrap(),
            6 if profile.strided && h >= 3 => b
                .conv2d(&label, pick, wide, Window::square(3, 2, 1), 1)
                .unwrap(),
            5 | 6 if profile.strided => b.unary(&label, "relu", pick).unwrap(),
            choice if choice == 5 + strided => {
                let other = joinable[rng.below(joinable.len())];
                if b.shape(other) == b.shape(pick).to_vec().as_slice() {
                    b.binary(&label, "add", pick, other).unwrap()
                } else {
                    b.concat(&label, &[pick, other]).unwrap()
                }
            }
            _ => {
                let other = joinable[rng.below(joinable.len())];
                b.concat(&label, &[other, pick]).unwrap()
            }
        };
        values.push(v);
    }
    if profile.global_pool && rng.below(3) == 0 {
        let last = *values.last().unwrap();
        values.push(b.global_pool("gp", last).unwrap());
    }
    let graph = b.clone().finish();
    for (id, value) in graph.values.iter().enumerate() {
        if value.consumers.is_empty() {
            b.output(id);
        }
    }
    b.finish()
}

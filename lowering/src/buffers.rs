//! Buffer planning: byte offsets of every tensor in the two run-time buffers.
//!
//! Parameters (named and derived) are packed one after another in the
//! parameter buffer. Activations share the off-chip activation buffer by
//! liveness: a tensor occupies its bytes from the step that computes it to
//! its last reader, and a later tensor may reuse them (first fit over the
//! free intervals). Network inputs are live from the start and outputs to the
//! end. A result is placed before the op's dying operands are released, so an
//! op never writes over what it reads. A fusion region counts as one op: its
//! operands stay live until its last layer and its results are placed before
//! its first, because a staged region runs all its layers at every step.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::{
    packing::PackedFilter,
    program::{Program, ValueId},
};

/// Alignment of every buffer, in bytes (a cache line, and AVX-512's width).
pub const ALIGN: u64 = 64;

fn align(bytes: u64) -> u64 {
    bytes.div_ceil(ALIGN) * ALIGN
}

/// Where each tensor lives.
#[derive(Clone, Debug, Serialize)]
pub struct BufferPlan {
    /// Byte offset of each tensor in its buffer (parameter or activation),
    /// indexed by [`ValueId`].
    pub offsets: Vec<u64>,
    /// Size of the activation buffer: the plan's peak.
    pub activation_bytes: u64,
    /// Size of the parameter buffer while the init function runs.
    pub param_bytes: u64,
    /// Size of its prefix that the forward function reads: parameters only
    /// the init function reads (the raw weights and statistics a batch norm
    /// is folded from) are placed after it, so the host can drop them once
    /// init has run.
    pub forward_param_bytes: u64,
    /// The largest total of activations alive at once: a lower bound for any
    /// plan's peak.
    pub max_live_bytes: u64,
}

/// Plans both buffers for `program`, whose fusion regions `staged` (indexed
/// by region) run tile by tile through the scratchpad, and whose `packed`
/// filters the forward function reads only through their chunk-major
/// copies (which the init function fills).
pub fn plan(program: &Program, staged: &[bool], packed: &[PackedFilter]) -> BufferPlan {
    let mut offsets = vec![0; program.values.len()];
    let mut read_by_forward = vec![false; program.values.len()];
    for step in &program.forward {
        for &operand in &step.operands {
            read_by_forward[operand] = true;
        }
    }
    for filter in packed {
        read_by_forward[filter.original] = false;
        read_by_forward[filter.packed] = true;
    }
    let mut param_bytes = 0;
    let mut forward_param_bytes = 0;
    for forward in [true, false] {
        for (id, value) in program.values.iter().enumerate() {
            if value.is_parameter() && read_by_forward[id] == forward {
                offsets[id] = param_bytes;
                param_bytes += align(value.bytes());
            }
        }
        if forward {
            forward_param_bytes = param_bytes;
        }
    }

    // A staged fusion region is one position: it runs all its layers at
    // every step, so its operands live until its end and its results from
    // its start, and what it computes and reads only inside never leaves the
    // scratchpad. Other ops are a position each.
    let staged_region = |index: usize| {
        program.forward[index]
            .region
            .filter(|&r| staged.get(r).copied().unwrap_or(false))
    };
    let mut position = Vec::with_capacity(program.forward.len());
    let mut positions = 0;
    for index in 0..program.forward.len() {
        let joins = index > 0
            && staged_region(index).is_some()
            && staged_region(index) == staged_region(index - 1);
        if !joins {
            positions += 1;
        }
        position.push(positions - 1);
    }
    // Computed in a staged region and read only there.
    let mut on_chip_only = vec![false; program.values.len()];
    let mut produced_at = vec![usize::MAX; program.values.len()];
    for (index, step) in program.forward.iter().enumerate() {
        for &result in &step.results {
            on_chip_only[result] = staged_region(index).is_some();
            produced_at[result] = position[index];
        }
    }
    for (index, step) in program.forward.iter().enumerate() {
        for &operand in &step.operands {
            if produced_at[operand] != position[index] {
                on_chip_only[operand] = false;
            }
        }
    }
    for &output in &program.outputs {
        on_chip_only[output] = false;
    }
    // Last position reading each activation; outputs live past the last.
    let mut last_use: Vec<Option<usize>> = vec![None; program.values.len()];
    for (index, step) in program.forward.iter().enumerate() {
        for &operand in &step.operands {
            last_use[operand] = Some(position[index]);
        }
    }
    for &output in &program.outputs {
        last_use[output] = Some(positions);
    }

    let mut pool = FirstFit::default();
    let size = |id: ValueId| align(program.values[id].bytes());
    for &input in &program.inputs {
        offsets[input] = pool.allocate(size(input));
    }
    let mut start = 0;
    while start < program.forward.len() {
        let end = (start..program.forward.len())
            .find(|&i| position[i] != position[start])
            .unwrap_or(program.forward.len());
        let steps = &program.forward[start..end];
        for step in steps {
            for &result in &step.results {
                if !on_chip_only[result] {
                    offsets[result] = pool.allocate(size(result));
                }
            }
        }
        let mut dying: Vec<ValueId> = steps
            .iter()
            .flat_map(|step| step.operands.iter().chain(&step.results))
            .copied()
            .filter(|&id| !program.values[id].is_parameter() && !on_chip_only[id])
            .filter(|&id| last_use[id].is_none_or(|last| last == position[start]))
            .collect();
        dying.sort_unstable();
        dying.dedup();
        for id in dying {
            pool.release(offsets[id], size(id));
        }
        start = end;
    }
    BufferPlan {
        offsets,
        activation_bytes: pool.peak.max(ALIGN),
        param_bytes: param_bytes.max(ALIGN),
        forward_param_bytes: forward_param_bytes.max(ALIGN),
        max_live_bytes: pool.max_live,
    }
}

/// First-fit allocation over free byte intervals.
#[derive(Default)]
struct FirstFit {
    /// Free intervals below `peak`: offset -> size, never adjacent.
    free: BTreeMap<u64, u64>,
    peak: u64,
    /// Bytes allocated now, and at most.
    live: u64,
    max_live: u64,
}

impl FirstFit {
    fn allocate(&mut self, size: u64) -> u64 {
        self.live += size;
        self.max_live = self.max_live.max(self.live);
        let found = self
            .free
            .iter()
            .find(|&(_, &free)| free >= size)
            .map(|(&offset, &free)| (offset, free));
        match found {
            Some((offset, free)) => {
                self.free.remove(&offset);
                if free > size {
                    self.free.insert(offset + size, free - size);
                }
                offset
            }
            None => {
                // Grow the top, absorbing a free interval that ends there.
                let top = match self.free.iter().next_back() {
                    Some((&offset, &free)) if offset + free == self.peak => {
                        self.free.remove(&offset);
                        offset
                    }
                    _ => self.peak,
                };
                self.peak = top + size;
                top
            }
        }
    }

    fn release(&mut self, offset: u64, size: u64) {
        self.live -= size;
        let (mut start, mut end) = (offset, offset + size);
        if let Some((&before, &len)) = self.free.range(..start).next_back()
            && before + len == start
        {
            self.free.remove(&before);
            start = before;
        }
        if let Some(&len) = self.free.get(&end) {
            self.free.remove(&end);
            end += len;
        }
        self.free.insert(start, end - start);
    }
}

#[cfg(test)]
mod tests {
    use melior::ir::{BlockLike, Module};

    use super::{FirstFit, plan};
    use crate::{codegen::tests::test_context, program};

    /// A region whose input `%x` dies at its first layer, and whose result
    /// `%r` is computed by its last, around an intermediate `%a`.
    const REGION: &str = r#"
func.func @net(%x: tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32> {
  %r = "df.fusion_region"(%x) ({
  ^bb0(%in: tensor<1x4x8x8xf32>):
    %a = "df.activation"(%in) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
    %b = "df.activation"(%a) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
    "df.yield"(%b) : (tensor<1x4x8x8xf32>) -> ()
  }) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  %s = "df.activation"(%r) : (tensor<1x4x8x8xf32>) -> tensor<1x4x8x8xf32>
  return %s : tensor<1x4x8x8xf32>
}
"#;

    #[test]
    fn a_staged_region_keeps_its_inputs_and_needs_no_buffer_for_what_stays_inside() {
        let context = test_context();
        context.set_allow_unregistered_dialects(true);
        let module = Module::parse(&context, REGION).expect("the test module parses");
        let function = module.body().first_operation().expect("one function");
        let program = program::from_function(function).expect("a program");
        // Values in order of definition: the argument, then each result.
        let [x, b] = [0, 2];
        let bytes = 4 * 8 * 8 * 4;
        let overlap = |plan: &super::BufferPlan, p: usize, q: usize| {
            plan.offsets[p] < plan.offsets[q] + bytes && plan.offsets[q] < plan.offsets[p] + bytes
        };

        // Op by op, the result may reuse the input's bytes once the first
        // layer has read them.
        let op_by_op = plan(&program, &[false], &[]);
        assert!(overlap(&op_by_op, x, b), "{:?}", op_by_op.offsets);

        // Staged, every step reads the input until the last, so the result
        // is placed apart from it; the intermediate gets no bytes at all, so
        // the input, the result and the op after the region fit in two
        // tensors' worth.
        let staged = plan(&program, &[true], &[]);
        assert!(!overlap(&staged, x, b), "{:?}", staged.offsets);
        assert_eq!(staged.activation_bytes, 2 * bytes, "{:?}", staged.offsets);
    }

    #[test]
    fn first_fit_reuses_and_merges_freed_intervals() {
        let mut pool = FirstFit::default();
        let a = pool.allocate(64);
        let b = pool.allocate(128);
        let c = pool.allocate(64);
        assert_eq!((a, b, c, pool.peak), (0, 64, 192, 256));
        pool.release(a, 64);
        pool.release(b, 128);
        // The two freed neighbours merge into one 192-byte hole.
        assert_eq!(pool.allocate(192), 0);
        pool.release(c, 64);
        // A request larger than the hole at the top grows the top from it.
        assert_eq!(pool.allocate(128), 192);
        assert_eq!(pool.peak, 320);
    }
}

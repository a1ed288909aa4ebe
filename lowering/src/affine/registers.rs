//! The vector registers the kernels' register blocks are sized for.
//!
//! The kernels keep a block of outputs in vector registers over a whole
//! reduction, so how many fit decides how often each input vector and each
//! broadcast weight is reused. The code is generated for the host CPU
//! ([`crate::codegen::CodegenOptions::host`]), so the blocks are sized for
//! it too: AVX-512 (with its VL extension) addresses 32 vector registers,
//! AVX2 16. [`crate::lower::LowerOptions::vector_registers`] (the
//! `vector-registers` option of `df-lower-to-affine`) sets another count,
//! so that the emitted IR need not depend on the machine. On a Zen 4, the
//! dp schedules of Inception-v3 and GoogLeNet ran a fifth faster with
//! blocks for 32 than with blocks for 16 (their staged 7x1, 1x7 and 3x3
//! tile kernels ran at 14-28 GFLOP/s with 9 accumulators).

use std::sync::OnceLock;

use inkwell::targets::TargetMachine;

/// Vector registers of the host CPU: 32 with AVX-512, else 16.
pub fn host_vector_registers() -> i64 {
    static REGISTERS: OnceLock<i64> = OnceLock::new();
    *REGISTERS.get_or_init(|| {
        let features = TargetMachine::get_host_cpu_features().to_string();
        registers_for(&features)
    })
}

/// Vector registers a CPU with `features` (LLVM's `+avx2,-avx512f,...`)
/// addresses.
fn registers_for(features: &str) -> i64 {
    let has = |feature: &str| features.split(',').any(|f| f == format!("+{feature}"));
    if has("avx512f") && has("avx512vl") {
        32
    } else {
        16
    }
}

#[cfg(test)]
mod tests {
    use super::registers_for;

    #[test]
    fn avx512_doubles_the_registers() {
        assert_eq!(registers_for("+avx2,+fma,+avx512f,+avx512vl"), 32);
        assert_eq!(registers_for("+avx2,+fma,-avx512f,-avx512vl"), 16);
        assert_eq!(registers_for("+avx512f,-avx512vl"), 16);
    }
}

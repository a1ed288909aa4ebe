//! The `deepfuse` subcommands that live in the library (so that tests can
//! call them): each takes its parsed arguments and returns the report to
//! print, or an error message; `tools/deepfuse/main.rs` only dispatches.

pub mod bench;
pub mod compile;
pub mod npy;
pub mod run;
pub mod zoo;

/// `25557032` as `25,557,032`.
pub fn thousands(value: u64) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A parameter count as model cards quote it: `25.6 M`, `1.7 k`.
pub fn params_short(value: u64) -> String {
    if value >= 1_000_000 {
        format!("{:.1} M", value as f64 / 1e6)
    } else {
        format!("{:.1} k", value as f64 / 1e3)
    }
}

/// A multiply-accumulate count as torchvision's tables quote it (`4.09 G`,
/// `0.30 G`), or in M or k when that would round to nothing.
pub fn macs_short(value: u64) -> String {
    match value {
        v if v >= 100_000_000 => format!("{:.2} G", v as f64 / 1e9),
        v if v >= 100_000 => format!("{:.1} M", v as f64 / 1e6),
        v => format!("{:.1} k", v as f64 / 1e3),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(thousands(25_557_032), "25,557,032");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(params_short(25_557_032), "25.6 M");
        assert_eq!(params_short(1_678), "1.7 k");
        assert_eq!(macs_short(4_089_184_256), "4.09 G");
        assert_eq!(macs_short(15_470_264_320), "15.47 G");
        assert_eq!(macs_short(300_774_272), "0.30 G");
        assert_eq!(macs_short(134_352), "0.1 M");
    }
}

//! Reading and writing tensors as NumPy `.npy` files.

use std::{fs::File, io::BufReader, path::Path};

use npyz::{NpyFile, WriterBuilder};

use crate::interpreter::Tensor;

/// Reads a C-ordered float32 or float64 array (float64 is rounded to f32).
pub fn read(path: &Path) -> Result<Tensor, String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let file = File::open(path).map_err(fail)?;
    let npy = NpyFile::new(BufReader::new(file)).map_err(fail)?;
    if npy.order() != npyz::Order::C {
        return Err(format!(
            "{}: the array is in Fortran order; save it in C order",
            path.display()
        ));
    }
    let shape: Vec<usize> = npy.shape().iter().map(|&d| d as usize).collect();
    let dtype = npy.dtype();
    let data: Vec<f32> = match npy.try_data::<f32>() {
        Ok(reader) => reader.collect::<Result<_, _>>().map_err(fail)?,
        Err(npy) => match npy.try_data::<f64>() {
            Ok(reader) => reader
                .map(|x| x.map(|x| x as f32))
                .collect::<Result<_, _>>()
                .map_err(fail)?,
            Err(_) => {
                return Err(format!(
                    "{}: elements of type {} are not supported; use float32 or float64",
                    path.display(),
                    dtype.descr()
                ));
            }
        },
    };
    Tensor::new(shape, data).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes `tensor` as a C-ordered float32 array.
pub fn write(path: &Path, tensor: &Tensor) -> Result<(), String> {
    let fail = |e: std::io::Error| format!("{}: {e}", path.display());
    let file = File::create(path).map_err(fail)?;
    let shape: Vec<u64> = tensor.shape().iter().map(|&d| d as u64).collect();
    let mut writer = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&shape)
        .writer(std::io::BufWriter::new(file))
        .begin_nd()
        .map_err(fail)?;
    writer.extend(tensor.data().iter().copied()).map_err(fail)?;
    writer.finish().map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npy");
        let tensor = Tensor::from_fn(vec![1, 2, 3], |i| i as f32 * 0.5);
        write(&path, &tensor).unwrap();
        assert_eq!(read(&path).unwrap(), tensor);
        std::fs::remove_file(&path).unwrap();
        assert!(
            read(&path)
                .unwrap_err()
                .starts_with(&path.display().to_string())
        );
    }
}

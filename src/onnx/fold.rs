//! Values known at import time and the arithmetic on them: initializers,
//! `Constant` nodes, and the shape computations exporters emit
//! (`Shape -> Gather -> Unsqueeze -> Concat -> Reshape`), folded here so that
//! only the static result reaches the df IR. Also the shape rules shared with
//! the op converters (broadcasting, axes, reshape targets).

use std::rc::Rc;

/// The element type of a constant. Integers of every width are held as i64.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemType {
    /// float32: the only type tensors computed by df ops may have.
    F32,
    /// int64.
    I64,
    /// int32.
    I32,
    /// int16.
    I16,
    /// int8.
    I8,
    /// uint8.
    U8,
    /// uint16.
    U16,
    /// uint32.
    U32,
    /// uint64 (values above `i64::MAX` are refused when decoded).
    U64,
    /// bool (held as 0 or 1).
    Bool,
}

impl ElemType {
    /// The width of one element in ONNX's raw little-endian encoding.
    pub fn byte_size(self) -> usize {
        match self {
            Self::F32 | Self::I32 | Self::U32 => 4,
            Self::I64 | Self::U64 => 8,
            Self::I16 | Self::U16 => 2,
            Self::I8 | Self::U8 | Self::Bool => 1,
        }
    }

    /// The ONNX spelling of the type.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "FLOAT",
            Self::I64 => "INT64",
            Self::I32 => "INT32",
            Self::I16 => "INT16",
            Self::I8 => "INT8",
            Self::U8 => "UINT8",
            Self::U16 => "UINT16",
            Self::U32 => "UINT32",
            Self::U64 => "UINT64",
            Self::Bool => "BOOL",
        }
    }
}

/// The elements of a constant, in row-major order.
#[derive(Clone, Debug, PartialEq)]
pub enum ConstData {
    /// float32 elements, shared so that weights are never copied twice.
    F32(Rc<Vec<f32>>),
    /// Integer elements of any width.
    I64(Vec<i64>),
}

/// A tensor whose value is known at import time.
#[derive(Clone, Debug, PartialEq)]
pub struct Const {
    /// The element type.
    pub elem: ElemType,
    /// The shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// The elements.
    pub data: ConstData,
}

impl Const {
    /// A 1-D int64 constant.
    pub fn int_vector(values: Vec<i64>) -> Self {
        Self {
            elem: ElemType::I64,
            shape: vec![values.len()],
            data: ConstData::I64(values),
        }
    }

    /// A float32 constant of `shape`.
    pub fn floats(shape: Vec<usize>, values: Vec<f32>) -> Self {
        Self {
            elem: ElemType::F32,
            shape,
            data: ConstData::F32(values.into()),
        }
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            ConstData::F32(values) => values.len(),
            ConstData::I64(values) => values.len(),
        }
    }

    /// Whether the constant has no element.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer elements, or why there are none.
    pub fn ints(&self) -> Result<&[i64], String> {
        match &self.data {
            ConstData::I64(values) => Ok(values),
            ConstData::F32(_) => Err("is a float tensor, expected integers".into()),
        }
    }

    /// The float32 elements, or why there are none.
    pub fn f32s(&self) -> Result<&Rc<Vec<f32>>, String> {
        match &self.data {
            ConstData::F32(values) => Ok(values),
            ConstData::I64(_) => Err(format!(
                "has element type {}, expected FLOAT",
                self.elem.name()
            )),
        }
    }

    /// The single float32 element of a scalar (or one-element) constant.
    pub fn f32_scalar(&self) -> Result<f32, String> {
        match self.f32s()?.as_slice() {
            [value] => Ok(*value),
            values => Err(format!("has {} elements, expected one", values.len())),
        }
    }

    /// The same elements under another shape of equal size.
    pub fn reshaped(&self, shape: Vec<usize>) -> Result<Self, String> {
        if shape.iter().product::<usize>() != self.len() {
            return Err(format!(
                "cannot reshape {} elements into {shape:?}",
                self.len()
            ));
        }
        Ok(Self {
            shape,
            ..self.clone()
        })
    }

    /// The elements at the given flat indices, as a constant of `shape`.
    fn take(&self, shape: Vec<usize>, indices: &[usize]) -> Self {
        let data = match &self.data {
            ConstData::F32(values) => ConstData::F32(
                indices
                    .iter()
                    .map(|&i| values[i])
                    .collect::<Vec<_>>()
                    .into(),
            ),
            ConstData::I64(values) => ConstData::I64(indices.iter().map(|&i| values[i]).collect()),
        };
        Self {
            elem: self.elem,
            shape,
            data,
        }
    }
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![1; shape.len()];
    for d in (0..shape.len().saturating_sub(1)).rev() {
        strides[d] = strides[d + 1] * shape[d + 1];
    }
    strides
}

/// Every multi-index of `shape`, in row-major order.
fn multi_indices(shape: &[usize]) -> impl Iterator<Item = Vec<usize>> + '_ {
    let total: usize = shape.iter().product();
    let strides = strides(shape);
    (0..total).map(move |flat| {
        shape
            .iter()
            .zip(&strides)
            .map(|(&dim, &stride)| (flat / stride) % dim.max(1))
            .collect()
    })
}

/// The most elements a constant made at import time may have (2^28, 1 GiB
/// of float32): larger ones come from malformed shapes, not real models.
pub const MAX_CONST_ELEMENTS: usize = 1 << 28;

/// The number of elements of `shape`, if a constant may have that many.
pub fn checked_count(shape: &[usize]) -> Result<usize, String> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .filter(|&n| n <= MAX_CONST_ELEMENTS)
        .ok_or_else(|| format!("a constant of shape {shape:?} is too large"))
}

/// `axis` (negative counts from the end) as an index below `rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> Result<usize, String> {
    let rank_i = rank as i64;
    let normalized = if axis < 0 { axis + rank_i } else { axis };
    if (0..rank_i).contains(&normalized) {
        Ok(normalized as usize)
    } else {
        Err(format!(
            "axis {axis} is out of range for rank {rank} (expected {} to {})",
            -rank_i,
            rank_i - 1
        ))
    }
}

/// NumPy broadcasting: shapes align at the right; each pair of dimensions
/// is equal or one of them is 1.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let rank = a.len().max(b.len());
    (0..rank)
        .map(|d| {
            let x = (d + a.len()).checked_sub(rank).map_or(1, |i| a[i]);
            let y = (d + b.len()).checked_sub(rank).map_or(1, |i| b[i]);
            match (x, y) {
                (x, y) if x == y => Ok(x),
                (1, y) => Ok(y),
                (x, 1) => Ok(x),
                _ => Err(format!(
                    "shapes {a:?} and {b:?} do not broadcast (dimension {d}: {x} vs {y})"
                )),
            }
        })
        .collect()
}

/// The flat index in a tensor of `shape` (right-aligned under broadcasting)
/// of the element at `index` of the broadcast result.
fn broadcast_index(index: &[usize], shape: &[usize], strides: &[usize]) -> usize {
    let offset = index.len() - shape.len();
    shape
        .iter()
        .zip(strides)
        .enumerate()
        .map(|(d, (&dim, &stride))| {
            if dim == 1 {
                0
            } else {
                index[offset + d] * stride
            }
        })
        .sum()
}

/// An elementwise binary operation on constants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    /// `a + b`.
    Add,
    /// `a - b`.
    Sub,
    /// `a * b`.
    Mul,
    /// `a / b` (integers truncate toward zero, as ONNX runtimes do).
    Div,
}

/// `a op b` with broadcasting.
pub fn binary(op: BinaryOp, a: &Const, b: &Const) -> Result<Const, String> {
    let shape = broadcast_shapes(&a.shape, &b.shape)?;
    checked_count(&shape)?;
    let (sa, sb) = (strides(&a.shape), strides(&b.shape));
    let pairs: Vec<(usize, usize)> = multi_indices(&shape)
        .map(|index| {
            (
                broadcast_index(&index, &a.shape, &sa),
                broadcast_index(&index, &b.shape, &sb),
            )
        })
        .collect();
    let data = match (&a.data, &b.data) {
        (ConstData::F32(x), ConstData::F32(y)) => {
            let f = |p: f32, q: f32| match op {
                BinaryOp::Add => p + q,
                BinaryOp::Sub => p - q,
                BinaryOp::Mul => p * q,
                BinaryOp::Div => p / q,
            };
            ConstData::F32(
                pairs
                    .iter()
                    .map(|&(i, j)| f(x[i], y[j]))
                    .collect::<Vec<_>>()
                    .into(),
            )
        }
        (ConstData::I64(x), ConstData::I64(y)) => {
            let f = |p: i64, q: i64| match op {
                BinaryOp::Add => p.checked_add(q),
                BinaryOp::Sub => p.checked_sub(q),
                BinaryOp::Mul => p.checked_mul(q),
                BinaryOp::Div => p.checked_div(q),
            };
            let values = pairs
                .iter()
                .map(|&(i, j)| {
                    f(x[i], y[j]).ok_or_else(|| {
                        format!(
                            "{op:?} of {} and {} overflows or divides by zero",
                            x[i], y[j]
                        )
                    })
                })
                .collect::<Result<_, _>>()?;
            ConstData::I64(values)
        }
        _ => {
            return Err(format!(
                "operands have element types {} and {}",
                a.elem.name(),
                b.elem.name()
            ));
        }
    };
    let elem = if a.elem == b.elem {
        a.elem
    } else {
        ElemType::I64
    };
    Ok(Const { elem, shape, data })
}

/// ONNX `Shape` of a tensor of `shape`, with opset-15 `start` and `end`.
pub fn shape_of(shape: &[usize], start: i64, end: Option<i64>) -> Const {
    let rank = shape.len() as i64;
    let clamp = |v: i64| (if v < 0 { v + rank } else { v }).clamp(0, rank) as usize;
    let (start, end) = (clamp(start), clamp(end.unwrap_or(rank)));
    let dims = if start < end { &shape[start..end] } else { &[] };
    Const::int_vector(dims.iter().map(|&d| d as i64).collect())
}

/// ONNX `Gather` along `axis`.
pub fn gather(data: &Const, indices: &Const, axis: i64) -> Result<Const, String> {
    let axis = normalize_axis(axis, data.shape.len())?;
    let dim = data.shape[axis] as i64;
    let picks = indices
        .ints()?
        .iter()
        .map(|&i| {
            let j = if i < 0 { i + dim } else { i };
            if (0..dim).contains(&j) {
                Ok(j as usize)
            } else {
                Err(format!("index {i} is out of range for dimension {dim}"))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let outer: usize = data.shape[..axis].iter().product();
    let inner: usize = data.shape[axis + 1..].iter().product();
    let mut flat = Vec::with_capacity(outer * picks.len() * inner);
    for o in 0..outer {
        for &p in &picks {
            let base = (o * data.shape[axis] + p) * inner;
            flat.extend(base..base + inner);
        }
    }
    let mut shape = data.shape[..axis].to_vec();
    shape.extend(&indices.shape);
    shape.extend(&data.shape[axis + 1..]);
    Ok(data.take(shape, &flat))
}

/// The shape `Unsqueeze` gives a tensor of `shape`.
pub fn unsqueeze_shape(shape: &[usize], axes: &[i64]) -> Result<Vec<usize>, String> {
    let rank = shape.len() + axes.len();
    let mut inserted = vec![false; rank];
    for &axis in axes {
        let axis = normalize_axis(axis, rank)?;
        if std::mem::replace(&mut inserted[axis], true) {
            return Err(format!("axis {axis} is repeated"));
        }
    }
    let mut dims = shape.iter();
    Ok(inserted
        .iter()
        .map(|&new| if new { 1 } else { *dims.next().unwrap_or(&1) })
        .collect())
}

/// The shape `Squeeze` gives a tensor of `shape` (all 1s when `axes` is None).
pub fn squeeze_shape(shape: &[usize], axes: Option<&[i64]>) -> Result<Vec<usize>, String> {
    let Some(axes) = axes else {
        return Ok(shape.iter().copied().filter(|&d| d != 1).collect());
    };
    let mut removed = vec![false; shape.len()];
    for &axis in axes {
        let axis = normalize_axis(axis, shape.len())?;
        if shape[axis] != 1 {
            return Err(format!(
                "cannot squeeze dimension {axis} of size {}",
                shape[axis]
            ));
        }
        removed[axis] = true;
    }
    Ok(shape
        .iter()
        .zip(&removed)
        .filter(|&(_, &r)| !r)
        .map(|(&d, _)| d)
        .collect())
}

/// The 2-D shape `Flatten` gives a tensor of `shape`.
pub fn flatten_shape(shape: &[usize], axis: i64) -> Result<Vec<usize>, String> {
    let rank = shape.len() as i64;
    let axis = if axis < 0 { axis + rank } else { axis };
    if !(0..=rank).contains(&axis) {
        return Err(format!("axis {axis} is out of range [0, {rank}]"));
    }
    let (outer, inner) = shape.split_at(axis as usize);
    Ok(vec![outer.iter().product(), inner.iter().product()])
}

/// The shape `Reshape` gives a tensor of `input` shape: `0` copies the input
/// dimension (unless `allow_zero`), `-1` takes what is left.
pub fn reshape_target(
    input: &[usize],
    spec: &[i64],
    allow_zero: bool,
) -> Result<Vec<usize>, String> {
    let mut shape = Vec::with_capacity(spec.len());
    let mut infer = None;
    for (i, &dim) in spec.iter().enumerate() {
        shape.push(match dim {
            -1 if infer.is_none() => {
                infer = Some(i);
                1
            }
            -1 => return Err("the target shape has more than one -1".into()),
            0 if !allow_zero => *input.get(i).ok_or_else(|| {
                format!(
                    "target dimension {i} is 0 (copy the input's), but the input has rank {}",
                    input.len()
                )
            })?,
            d if d < 0 => return Err(format!("target dimension {i} is {d}")),
            d => d as usize,
        });
    }
    let total: usize = input.iter().product();
    let known = shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(|| format!("the target shape {spec:?} is too large"))?;
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(format!(
                "cannot infer the -1 in {spec:?}: {total} elements do not divide by {known}"
            ));
        }
        shape[i] = total / known;
    } else if known != total {
        return Err(format!(
            "cannot reshape {input:?} ({total} elements) into {shape:?} ({known} elements)"
        ));
    }
    Ok(shape)
}

/// ONNX `Concat` of constants along `axis`.
pub fn concat(inputs: &[&Const], axis: i64) -> Result<Const, String> {
    let first = inputs.first().ok_or("needs at least one input")?;
    let rank = first.shape.len();
    let axis = normalize_axis(axis, rank)?;
    let mut shape = first.shape.clone();
    shape[axis] = 0;
    for input in inputs {
        let same_rest = input.shape.len() == rank
            && (0..rank).all(|d| d == axis || input.shape[d] == first.shape[d]);
        if !same_rest || input.elem != first.elem {
            return Err(format!(
                "inputs of shapes {:?} and {:?} (types {} and {}) do not concatenate along axis {axis}",
                first.shape,
                input.shape,
                first.elem.name(),
                input.elem.name()
            ));
        }
        shape[axis] += input.shape[axis];
    }
    let outer: usize = shape[..axis].iter().product();
    let mut data = match &first.data {
        ConstData::F32(_) => ConstData::F32(Rc::new(Vec::new())),
        ConstData::I64(_) => ConstData::I64(Vec::new()),
    };
    let mut floats = Vec::new();
    for o in 0..outer {
        for input in inputs {
            let chunk: usize = input.shape[axis..].iter().product();
            let range = o * chunk..(o + 1) * chunk;
            match (&mut data, &input.data) {
                (ConstData::I64(out), ConstData::I64(values)) => out.extend(&values[range]),
                (ConstData::F32(_), ConstData::F32(values)) => floats.extend(&values[range]),
                _ => return Err("inputs mix float and integer elements".into()),
            }
        }
    }
    if let ConstData::F32(out) = &mut data {
        *out = floats.into();
    }
    Ok(Const {
        elem: first.elem,
        shape,
        data,
    })
}

/// ONNX `Cast` of a constant.
pub fn cast(input: &Const, to: ElemType) -> Result<Const, String> {
    let data = match (&input.data, to) {
        (ConstData::F32(values), ElemType::F32) => ConstData::F32(values.clone()),
        (ConstData::I64(values), ElemType::F32) => {
            ConstData::F32(values.iter().map(|&v| v as f32).collect::<Vec<_>>().into())
        }
        (ConstData::F32(values), ElemType::Bool) => {
            ConstData::I64(values.iter().map(|&v| (v != 0.0) as i64).collect())
        }
        (ConstData::F32(values), _) => ConstData::I64(
            values
                .iter()
                .map(|&v| {
                    // Casts truncate toward zero; NaN and out-of-range values
                    // have no integer.
                    if v.is_finite() && v.abs() < 9.2e18 {
                        Ok(v.trunc() as i64)
                    } else {
                        Err(format!("cannot cast {v} to {}", to.name()))
                    }
                })
                .collect::<Result<_, _>>()?,
        ),
        (ConstData::I64(values), ElemType::Bool) => {
            ConstData::I64(values.iter().map(|&v| (v != 0) as i64).collect())
        }
        (ConstData::I64(values), _) => ConstData::I64(values.clone()),
    };
    Ok(Const {
        elem: to,
        shape: input.shape.clone(),
        data,
    })
}

/// ONNX `Slice` of a constant (`axes` default to the first ones, `steps` to 1).
pub fn slice(
    input: &Const,
    starts: &[i64],
    ends: &[i64],
    axes: Option<&[i64]>,
    steps: Option<&[i64]>,
) -> Result<Const, String> {
    let rank = input.shape.len();
    if starts.len() != ends.len() {
        return Err(format!(
            "has {} starts and {} ends",
            starts.len(),
            ends.len()
        ));
    }
    let default_axes: Vec<i64> = (0..starts.len() as i64).collect();
    let axes = axes.unwrap_or(&default_axes);
    let ones = vec![1; starts.len()];
    let steps = steps.unwrap_or(&ones);
    if axes.len() != starts.len() || steps.len() != starts.len() {
        return Err("starts, ends, axes and steps differ in length".into());
    }
    // Per dimension: first index, step, count.
    let mut ranges: Vec<(i64, i64, usize)> = input.shape.iter().map(|&d| (0, 1, d)).collect();
    for i in 0..starts.len() {
        let axis = normalize_axis(axes[i], rank)?;
        let dim = input.shape[axis] as i64;
        let step = steps[i];
        if step == 0 {
            return Err("a step is 0".into());
        }
        if dim == 0 {
            ranges[axis] = (0, 1, 0);
            continue;
        }
        let wrap = |v: i64| if v < 0 { v.saturating_add(dim) } else { v };
        let (start, end) = if step > 0 {
            (wrap(starts[i]).clamp(0, dim), wrap(ends[i]).clamp(0, dim))
        } else {
            (
                wrap(starts[i]).clamp(0, dim - 1),
                wrap(ends[i]).clamp(-1, dim - 1),
            )
        };
        let span = end - start;
        let count = if (span > 0) == (step > 0) && span != 0 {
            ((span.abs() + step.abs() - 1) / step.abs()) as usize
        } else {
            0
        };
        ranges[axis] = (start, step, count);
    }
    let shape: Vec<usize> = ranges.iter().map(|&(_, _, count)| count).collect();
    let in_strides = strides(&input.shape);
    let flat: Vec<usize> = multi_indices(&shape)
        .map(|index| {
            index
                .iter()
                .zip(&ranges)
                .zip(&in_strides)
                .map(|((&i, &(start, step, _)), &stride)| {
                    (start + i as i64 * step) as usize * stride
                })
                .sum()
        })
        .collect();
    Ok(input.take(shape, &flat))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(shape: Vec<usize>, values: Vec<i64>) -> Const {
        Const {
            elem: ElemType::I64,
            shape,
            data: ConstData::I64(values),
        }
    }

    #[test]
    fn the_pytorch_flatten_pattern_folds() {
        // x.view(x.size(0), -1) on a 1x32x2x2 tensor.
        let shape = shape_of(&[1, 32, 2, 2], 0, None);
        let batch = gather(&shape, &ints(vec![], vec![0]), 0).unwrap();
        assert_eq!(batch.shape, Vec::<usize>::new());
        let batch = batch
            .reshaped(unsqueeze_shape(&batch.shape, &[0]).unwrap())
            .unwrap();
        let spec = concat(&[&batch, &Const::int_vector(vec![-1])], 0).unwrap();
        assert_eq!(spec.ints().unwrap(), &[1, -1]);
        assert_eq!(
            reshape_target(&[1, 32, 2, 2], spec.ints().unwrap(), false).unwrap(),
            vec![1, 128]
        );
    }

    #[test]
    fn reshape_zero_and_minus_one() {
        assert_eq!(
            reshape_target(&[2, 3, 4], &[0, -1], false).unwrap(),
            vec![2, 12]
        );
        assert!(reshape_target(&[2, 3, 4], &[-1, -1], false).is_err());
        assert!(reshape_target(&[2, 3, 4], &[5, -1], false).is_err());
        assert!(reshape_target(&[2, 3], &[7], false).is_err());
    }

    #[test]
    fn broadcasting_binary_ops() {
        let a = ints(vec![2, 1], vec![1, 2]);
        let b = ints(vec![3], vec![10, 20, 30]);
        let sum = binary(BinaryOp::Add, &a, &b).unwrap();
        assert_eq!(sum.shape, vec![2, 3]);
        assert_eq!(sum.ints().unwrap(), &[11, 21, 31, 12, 22, 32]);
        assert!(binary(BinaryOp::Div, &a, &ints(vec![1], vec![0])).is_err());
        let f = Const::floats(vec![2], vec![1.0, 4.0]);
        let half = Const::floats(vec![], vec![0.5]);
        assert_eq!(
            binary(BinaryOp::Mul, &f, &half)
                .unwrap()
                .f32s()
                .unwrap()
                .as_ref(),
            &[0.5, 2.0]
        );
    }

    #[test]
    fn slices_with_negative_indices_and_steps() {
        let v = Const::int_vector(vec![0, 1, 2, 3, 4]);
        let tail = slice(&v, &[-2], &[i64::MAX], None, None).unwrap();
        assert_eq!(tail.ints().unwrap(), &[3, 4]);
        let reversed = slice(&v, &[-1], &[i64::MIN], None, Some(&[-2])).unwrap();
        assert_eq!(reversed.ints().unwrap(), &[4, 2, 0]);
        let m = ints(vec![2, 3], (0..6).collect());
        let column = slice(&m, &[1], &[2], Some(&[1]), None).unwrap();
        assert_eq!(column.shape, vec![2, 1]);
        assert_eq!(column.ints().unwrap(), &[1, 4]);
    }

    #[test]
    fn shape_helpers() {
        assert_eq!(squeeze_shape(&[1, 8, 1, 1], None).unwrap(), vec![8]);
        assert_eq!(
            squeeze_shape(&[1, 8, 1, 1], Some(&[2, 3])).unwrap(),
            vec![1, 8]
        );
        assert!(squeeze_shape(&[1, 8], Some(&[1])).is_err());
        assert_eq!(unsqueeze_shape(&[8], &[0, -1]).unwrap(), vec![1, 8, 1]);
        assert_eq!(flatten_shape(&[2, 3, 4], -1).unwrap(), vec![6, 4]);
        assert_eq!(flatten_shape(&[2, 3, 4], 0).unwrap(), vec![1, 24]);
        assert!(normalize_axis(4, 4).is_err());
        assert_eq!(normalize_axis(-1, 4).unwrap(), 3);
        assert_eq!(shape_of(&[1, 3, 8, 8], -2, None).ints().unwrap(), &[8, 8]);
    }

    #[test]
    fn concat_along_an_inner_axis_and_cast() {
        let a = Const::floats(vec![2, 1], vec![1.0, 2.0]);
        let b = Const::floats(vec![2, 2], vec![3.0, 4.0, 5.0, 6.0]);
        let c = concat(&[&a, &b], 1).unwrap();
        assert_eq!(c.f32s().unwrap().as_ref(), &[1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
        let i = cast(&Const::floats(vec![2], vec![-1.7, 2.9]), ElemType::I64).unwrap();
        assert_eq!(i.ints().unwrap(), &[-1, 2]);
    }
}

//! The server columns: types, decimals, lists, byte limits and batch cutting.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{DataType, i256};
use dataconn_core::{ErrorKind, Result, Table};

use super::decimal::{DecimalSpec, rescale};
use super::{ArrowType, Assembler, Column, Datum};

#[test]
fn undeclared_decimals_take_the_largest_scale_across_batches() {
    let mut a = Assembler::new(
        vec![Column::new("d", ArrowType::Decimal { declared: None })],
        2,
    );
    for (v, s) in [(15, 1), (2, 0)] {
        a.columns()[0].push(Datum::Decimal(v, s)).unwrap();
        if a.row_done() {
            a.cut_and_keep().unwrap();
        }
    }
    a.columns()[0].push(Datum::Decimal(-12345, 3)).unwrap();
    a.row_done();
    let t = a.finish().unwrap();
    assert_eq!(
        t.schema().field(0).data_type(),
        &DataType::Decimal128(38, 3)
    );
    assert_eq!(t.batches().len(), 2);
    let d = t.column("d").unwrap();
    let d = d.as_primitive::<arrow::datatypes::Decimal128Type>();
    assert_eq!(d.values().to_vec(), vec![1500, 2000, -12345]);
}

#[test]
fn lists_nest_a_child_column_and_keep_nulls() {
    let mut c = Column::new("l", ArrowType::List(Box::new(ArrowType::Int32)));
    for v in [1, 2] {
        c.list_child().unwrap().push(Datum::I64(v)).unwrap();
    }
    c.end_list(2).unwrap();
    c.push(Datum::Null).unwrap();
    c.end_list(0).unwrap();
    let a = c.finish(DecimalSpec::default()).unwrap();
    let l = a.as_list::<i32>();
    assert_eq!(
        (l.len(), l.value_length(0), l.is_null(1), l.value_length(2)),
        (3, 2, true, 0)
    );
}

#[test]
fn out_of_range_integers_are_named_errors() {
    let mut c = Column::new("small", ArrowType::Int8);
    let err = c.push(Datum::I64(300)).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TypeConversion);
    assert!(err.message().contains("`small`"), "{err}");
}

#[test]
fn text_batches_are_cut_before_their_offsets_overflow() {
    let mut a = Assembler::new(
        vec![
            Column::new("n", ArrowType::Int64),
            Column::new("t", ArrowType::Utf8),
            Column::new("l", ArrowType::List(Box::new(ArrowType::Binary))),
        ],
        1000,
    )
    .with_batch_bytes(10);
    let mut cuts = 0;
    for i in 0..10i64 {
        a.columns()[0].push(Datum::I64(i)).unwrap();
        a.columns()[1].push(Datum::Str("abcd")).unwrap();
        a.columns()[2]
            .list_child()
            .unwrap()
            .push(Datum::Bytes(b"x"))
            .unwrap();
        a.columns()[2].end_list(1).unwrap();
        if a.row_done() {
            a.cut_and_keep().unwrap();
            cuts += 1;
        }
    }
    assert_eq!(cuts, 3, "cut after every 3 rows (12 bytes of text)");
    let t = a.finish().unwrap();
    assert_eq!(t.schema().field(1).data_type(), &DataType::Utf8);
    assert_eq!(t.batches().len(), 4);
    let mut n = Vec::new();
    for b in t.batches() {
        assert!(b.num_rows() <= 3);
        let ints = b.column(0).as_primitive::<arrow::datatypes::Int64Type>();
        n.extend(ints.values().iter().copied());
        assert!(
            b.column(1)
                .as_string::<i32>()
                .iter()
                .all(|v| v == Some("abcd"))
        );
    }
    assert_eq!(n, (0..10).collect::<Vec<_>>());
}

#[test]
fn a_value_past_the_offset_limit_is_a_named_error_not_a_panic() {
    let mut c = Column::new("t", ArrowType::Utf8).with_max_bytes(8);
    c.push(Datum::Str("12345")).unwrap();
    let err = c.push(Datum::Str("12345")).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TypeConversion);
    assert!(err.message().contains("`t`"), "{err}");
    let mut c = Column::new("l", ArrowType::List(Box::new(ArrowType::Binary))).with_max_bytes(4);
    let err = c
        .list_child()
        .unwrap()
        .push(Datum::Bytes(b"12345"))
        .unwrap_err();
    assert!(err.message().contains("bytes"), "{err}");
}

fn decimals(values: &[Datum<'static>], batch_rows: usize) -> Result<Table> {
    let mut a = Assembler::new(
        vec![Column::new("d", ArrowType::Decimal { declared: None })],
        batch_rows,
    );
    for v in values {
        a.columns()[0].push(*v)?;
        if a.row_done() {
            a.cut_and_keep()?;
        }
    }
    a.finish()
}

fn big(text: &str) -> i256 {
    i256::from_string(text).unwrap()
}

#[test]
fn wide_undeclared_decimals_become_decimal256_exactly_across_batches() {
    // A narrow batch, then one whose value needs 51 digits at scale 2.
    let t = decimals(
        &[
            Datum::Decimal(-15, 1),
            Datum::Null,
            Datum::Decimal256(big(&format!("1{}", "0".repeat(50))), 2),
        ],
        2,
    )
    .unwrap();
    assert_eq!(
        t.schema().field(0).data_type(),
        &DataType::Decimal256(76, 2)
    );
    let d = t.column("d").unwrap();
    let d = d.as_primitive::<arrow::datatypes::Decimal256Type>();
    assert_eq!(d.value_as_string(0), "-1.50");
    assert!(d.is_null(1));
    assert_eq!(d.value_as_string(2), format!("1{}.00", "0".repeat(48)));
    // 30 digits before the point and 10 after need 40: wide, though each fits 128 bits.
    let t = decimals(
        &[Datum::Decimal(10i128.pow(29), 0), Datum::Decimal(1, 10)],
        10,
    )
    .unwrap();
    assert_eq!(
        t.schema().field(0).data_type(),
        &DataType::Decimal256(76, 10)
    );
    // Within 38 digits it stays Decimal128.
    let t = decimals(
        &[Datum::Decimal(10i128.pow(27), 0), Datum::Decimal(1, 10)],
        10,
    )
    .unwrap();
    assert_eq!(
        t.schema().field(0).data_type(),
        &DataType::Decimal128(38, 10)
    );
}

#[test]
fn decimals_needing_more_than_76_digits_are_named_errors() {
    let err = decimals(
        &[
            Datum::Decimal256(big(&format!("1{}", "0".repeat(60))), 0),
            Datum::Decimal(1, 20),
        ],
        10,
    )
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::TypeConversion);
    assert!(
        err.message().contains("`d`") && err.message().contains("81"),
        "{err}"
    );
}

#[test]
fn declared_wide_decimals_are_decimal256_at_their_precision() {
    let mut a = Assembler::new(
        vec![Column::new(
            "d",
            ArrowType::Decimal {
                declared: Some((65, 30)),
            },
        )],
        10,
    );
    a.columns()[0].push(Datum::Decimal(12, 1)).unwrap();
    a.row_done();
    let t = a.finish().unwrap();
    assert_eq!(
        t.schema().field(0).data_type(),
        &DataType::Decimal256(65, 30)
    );
    let d = t.column("d").unwrap();
    let d = d.as_primitive::<arrow::datatypes::Decimal256Type>();
    assert_eq!(d.value_as_string(0), format!("1.2{}", "0".repeat(29)));
}

#[test]
fn a_decimal_that_outgrows_a_streams_first_batch_is_an_error_not_a_null() {
    let mut a = Assembler::new(
        vec![Column::new("d", ArrowType::Decimal { declared: None })],
        1,
    );
    a.columns()[0].push(Datum::Decimal(1, 0)).unwrap();
    a.row_done();
    a.cut_for_stream().unwrap();
    a.columns()[0]
        .push(Datum::Decimal256(big(&"9".repeat(60)), 0))
        .unwrap();
    a.row_done();
    let err = a.cut_for_stream().unwrap_err();
    assert!(err.message().contains("`d`"), "{err}");
}

#[test]
fn rescale_is_exact_or_refuses() {
    assert_eq!(rescale(15, 1, 3), Some(1500));
    assert_eq!(rescale(1500, 3, 1), Some(15));
    assert_eq!(rescale(1501, 3, 1), None);
}

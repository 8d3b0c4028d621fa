//! `--param NAME=VALUE` into named parameters.

use dataconn::{Error, ErrorKind, Params, Result, Value};

/// Parse `--param` (typed by the look of the value) and `--text-param` (always text) flags.
pub(crate) fn parse(typed: &[String], text: &[String]) -> Result<Params> {
    let mut params = Params::new();
    for raw in typed {
        let (name, value) = split(raw)?;
        params.insert(name, infer(value));
    }
    for raw in text {
        let (name, value) = split(raw)?;
        params.insert(name, Value::Text(value.to_owned()));
    }
    Ok(params)
}

fn split(raw: &str) -> Result<(&str, &str)> {
    match raw.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.trim_start_matches(':'), value)),
        _ => Err(Error::new(
            ErrorKind::Parameter,
            format!("expected a parameter as NAME=VALUE, found {raw:?}"),
        )),
    }
}

fn infer(value: &str) -> Value {
    match value {
        "null" => Value::Null,
        "true" => Value::Bool(true),
        "false" => Value::Bool(false),
        _ => value
            .parse::<i64>()
            .map(Value::Int)
            .or_else(|_| value.parse::<f64>().map(Value::Float))
            .unwrap_or_else(|_| Value::Text(value.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_typed_by_their_look_unless_forced_to_text() {
        let p = parse(
            &[
                "a=1".into(),
                "b=2.5".into(),
                "c=true".into(),
                "d=null".into(),
                ":e=x=y".into(),
            ],
            &["f=007".into()],
        )
        .unwrap();
        assert_eq!(p.get("a"), Some(&Value::Int(1)));
        assert_eq!(p.get("b"), Some(&Value::Float(2.5)));
        assert_eq!(p.get("c"), Some(&Value::Bool(true)));
        assert_eq!(p.get("d"), Some(&Value::Null));
        assert_eq!(p.get("e"), Some(&Value::Text("x=y".into())));
        assert_eq!(p.get("f"), Some(&Value::Text("007".into())));
        assert!(parse(&["novalue".into()], &[]).is_err());
    }
}

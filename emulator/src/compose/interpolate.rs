//! Compose's variable interpolation, done on the YAML tree before typing
//! (so a value of any type can come from a variable): `$VAR`, `${VAR}`,
//! `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`,
//! `${VAR:+alt}`, `${VAR+alt}` and `$$`.

use serde_yaml_ng::Value;

/// Replaces `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`,
/// `${VAR?err}`, `$VAR` and `$$` in every string of the tree.
pub fn interpolate_tree(
    value: &mut Value,
    path: &str,
    variables: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<(), String> {
    match value {
        Value::String(s) => {
            *s = interpolate(s, variables, warnings).map_err(|e| format!("{path}: {e}"))?;
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_tree(item, &format!("{path}[{i}]"), variables, warnings)?;
            }
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                let key = key.as_str().map(str::to_string).unwrap_or_default();
                let child = if path.is_empty() {
                    key
                } else {
                    format!("{path}.{key}")
                };
                interpolate_tree(item, &child, variables, warnings)?;
            }
        }
        Value::Tagged(tagged) => interpolate_tree(&mut tagged.value, path, variables, warnings)?,
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// One string's interpolation, compose's syntax: `$VAR`, `${VAR}`,
/// `${VAR:-default}` (unset or empty), `${VAR-default}` (unset),
/// `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}` and `$$`.
/// An unset variable without a default is empty, with a warning, as in
/// compose. (shellexpand, the crate for this, has `:-` only, and takes an
/// empty value as set, so it cannot tell the forms apart.)
pub fn interpolate(
    text: &str,
    variables: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
        } else if let Some(braced) = rest.strip_prefix('{') {
            let end = braced
                .find('}')
                .ok_or_else(|| format!("{text:?}: `${{` without a closing `}}`"))?;
            out.push_str(&resolve(&braced[..end], variables, warnings)?);
            rest = &braced[end + 1..];
        } else {
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if len == 0 {
                out.push('$');
                continue;
            }
            out.push_str(&resolve(&rest[..len], variables, warnings)?);
            rest = &rest[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of one `${...}`'s inside.
fn resolve(
    inner: &str,
    variables: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<String, String> {
    let split = inner.find([':', '-', '?', '+']).unwrap_or(inner.len());
    let (var, operator) = inner.split_at(split);
    let valid = var
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(format!("${{{inner}}} is not a valid interpolation"));
    }
    let value = variables(var);
    // With `:`, an empty value counts as unset.
    let (colon, operator) = match operator.strip_prefix(':') {
        Some(op) => (true, op),
        None => (false, operator),
    };
    let set = value.as_deref().is_some_and(|v| !(colon && v.is_empty()));
    let argument = operator.get(1..).unwrap_or("");
    match operator.chars().next() {
        None if !colon => Ok(value.unwrap_or_else(|| {
            warnings.push(format!(
                "the variable {var} is not set; an empty string is used"
            ));
            String::new()
        })),
        Some('-') => Ok(if set {
            value.unwrap_or_default()
        } else {
            argument.to_string()
        }),
        Some('?') if set => Ok(value.unwrap_or_default()),
        Some('?') => Err(required(var, argument)),
        Some('+') => Ok(if set {
            argument.to_string()
        } else {
            String::new()
        }),
        _ => Err(format!("${{{inner}}} is not a valid interpolation")),
    }
}

fn required(var: &str, message: &str) -> String {
    if message.is_empty() {
        format!("required variable {var} is missing a value")
    } else {
        format!("required variable {var} is missing a value: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: std::collections::BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn variables_are_interpolated_with_defaults_errors_and_escapes() {
        let env = vars(&[("TAG", "v2"), ("EMPTY", "")]);
        let mut warnings = vec![];
        let run = |w: &mut Vec<String>, text: &str| interpolate(text, &env, w);
        assert_eq!(run(&mut warnings, "app:${TAG}").unwrap(), "app:v2");
        assert_eq!(run(&mut warnings, "app:$TAG").unwrap(), "app:v2");
        assert_eq!(run(&mut warnings, "${MISSING:-latest}").unwrap(), "latest");
        assert_eq!(run(&mut warnings, "${EMPTY:-latest}").unwrap(), "latest");
        assert_eq!(run(&mut warnings, "${EMPTY-latest}").unwrap(), "");
        assert_eq!(run(&mut warnings, "${MISSING-latest}").unwrap(), "latest");
        assert_eq!(run(&mut warnings, "cost $$5").unwrap(), "cost $5");
        let err = run(&mut warnings, "${MISSING:?set it first}").unwrap_err();
        assert!(
            err.contains("MISSING") && err.contains("set it first"),
            "{err}"
        );
        assert!(run(&mut warnings, "${EMPTY:?}").is_err());
        assert_eq!(run(&mut warnings, "${EMPTY?}").unwrap(), "");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(run(&mut warnings, "${MISSING}x").unwrap(), "x");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("MISSING"), "{warnings:?}");
    }

    #[test]
    fn alternatives_and_bad_names() {
        let env = vars(&[("SET", "x"), ("EMPTY", "")]);
        let mut w = vec![];
        assert_eq!(interpolate("${SET:+on}", &env, &mut w).unwrap(), "on");
        assert_eq!(interpolate("${EMPTY:+on}", &env, &mut w).unwrap(), "");
        assert_eq!(interpolate("${EMPTY+on}", &env, &mut w).unwrap(), "on");
        assert_eq!(interpolate("a $ b", &env, &mut w).unwrap(), "a $ b");
        assert!(interpolate("${1X}", &env, &mut w).is_err());
        assert!(interpolate("${SET", &env, &mut w).is_err());
    }
}

//! GetRandomPassword: the options and the generator.

use borsh::{BorshDeserialize, BorshSerialize};
use rand::seq::SliceRandom;

use super::{SecretsError, DEFAULT_PASSWORD_LENGTH, PASSWORD_LENGTH};
use crate::domain::validation::constraint_violation;

/// The punctuation GetRandomPassword draws from (AWS's list).
pub(super) const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// GetRandomPassword's options.
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
pub struct PasswordRules {
    pub length: Option<i64>,
    pub exclude_characters: String,
    pub exclude_numbers: bool,
    pub exclude_punctuation: bool,
    pub exclude_uppercase: bool,
    pub exclude_lowercase: bool,
    pub include_space: bool,
    /// AWS's default: true.
    pub require_each_included_type: Option<bool>,
}

/// GetRandomPassword: `length` characters from the included classes, at
/// least one of each when required.
pub fn random_password(rules: &PasswordRules) -> Result<String, SecretsError> {
    let length = rules.length.unwrap_or(DEFAULT_PASSWORD_LENGTH);
    if !PASSWORD_LENGTH.contains(&length) {
        return Err(SecretsError::Validation(constraint_violation(
            &length.to_string(),
            "passwordLength",
            "Member must have value between 1 and 4096",
        )));
    }
    let keep = |c: &char| !rules.exclude_characters.contains(*c);
    let mut classes: Vec<Vec<char>> = Vec::new();
    let mut add = |excluded: bool, chars: &mut dyn Iterator<Item = char>| {
        if !excluded {
            let class: Vec<char> = chars.filter(keep).collect();
            if !class.is_empty() {
                classes.push(class);
            }
        }
    };
    add(rules.exclude_lowercase, &mut ('a'..='z'));
    add(rules.exclude_uppercase, &mut ('A'..='Z'));
    add(rules.exclude_numbers, &mut ('0'..='9'));
    add(rules.exclude_punctuation, &mut PUNCTUATION.chars());
    add(!rules.include_space, &mut std::iter::once(' '));
    if classes.is_empty() {
        return Err(SecretsError::InvalidParameter(
            "The password can't be generated: every character type is excluded.".into(),
        ));
    }
    let length = length as usize;
    let require_each = rules.require_each_included_type.unwrap_or(true);
    if require_each && length < classes.len() {
        return Err(SecretsError::InvalidParameter(format!(
            "The password length must be at least {} to include each character type.",
            classes.len()
        )));
    }
    let mut rng = rand::thread_rng();
    let all: Vec<char> = classes.concat();
    let mut password: Vec<char> = if require_each {
        classes
            .iter()
            .filter_map(|class| class.choose(&mut rng).copied())
            .collect()
    } else {
        Vec::new()
    };
    while password.len() < length {
        password.extend(all.choose(&mut rng));
    }
    password.shuffle(&mut rng);
    Ok(password.into_iter().collect())
}

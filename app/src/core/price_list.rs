//! The built-in price list: the Anthropic and OpenAI chat models of a dated snapshot of LiteLLM's
//! maintained price file (`app/prices/snapshot.json`, regenerated from a newer file by
//! `app/prices/regenerate.py`), read once. Admins import models from it instead of typing prices; an
//! admin-supplied file of the same format goes through the same import ([`super::price_file`]).

use std::sync::LazyLock;

use super::price_file::{self, PriceEntry, PriceFile};

static SNAPSHOT: LazyLock<PriceFile> = LazyLock::new(|| {
    price_file::parse(include_str!("../../prices/snapshot.json")).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the built-in price snapshot cannot be read");
        PriceFile::default()
    })
});

/// The built-in list.
pub fn snapshot() -> &'static PriceFile {
    &SNAPSHOT
}

/// When the snapshot was taken.
pub fn dated() -> &'static str {
    SNAPSHOT.dated.as_deref().unwrap_or("unknown")
}

pub fn find(public_id: &str) -> Option<&'static PriceEntry> {
    SNAPSHOT.find(public_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Prices;

    #[test]
    fn every_listed_id_is_a_valid_model_id() {
        for e in &snapshot().entries {
            assert!(
                super::super::models::validate_model_id(&e.public_id, "public_id").is_ok(),
                "{}",
                e.public_id
            );
        }
    }

    #[test]
    fn current_claude_prices_are_listed_exactly() {
        assert!(dated().starts_with("20"));
        let sonnet = find("claude-sonnet-4-5").unwrap();
        assert_eq!(
            sonnet.prices,
            Prices::with_derived_cache(3_000_000, 15_000_000)
        );
        assert_eq!(sonnet.vendor, "Anthropic");
        let opus = find("claude-opus-5-5").unwrap();
        assert_eq!(opus.prices.input, 4_000_000);
        assert_eq!(opus.prices.cache_write_1h, 8_000_000);
        assert_eq!(opus.deprecated_on, None);
    }
}

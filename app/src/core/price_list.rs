//! The built-in price list: current Claude and OpenAI models with their list prices, so admins can
//! import models instead of typing prices. Prices are USD per million tokens in micro-USD; they are
//! copied into the model on import and can be edited afterwards.

use crate::money::Prices;

/// When these prices were taken from the providers' pricing pages.
pub const DATED: &str = "2025-11-24";

pub struct Listed {
    pub public_id: &'static str,
    pub display_name: &'static str,
    pub vendor: &'static str,
    pub prices: Prices,
}

/// Anthropic prices: cache write 5 m = 1.25 ×, 1 h = 2 ×, cache read = 0.1 × input.
const fn claude(id: &'static str, name: &'static str, input: i64, output: i64) -> Listed {
    Listed {
        public_id: id,
        display_name: name,
        vendor: "Anthropic",
        prices: Prices {
            input,
            output,
            cache_write_5m: input * 5 / 4,
            cache_write_1h: input * 2,
            cache_read: input / 10,
        },
    }
}

/// OpenAI prices: cache writes cost the input price, cached input has its own price.
const fn openai(
    id: &'static str,
    name: &'static str,
    input: i64,
    output: i64,
    cached: i64,
) -> Listed {
    Listed {
        public_id: id,
        display_name: name,
        vendor: "OpenAI",
        prices: Prices {
            input,
            output,
            cache_write_5m: input,
            cache_write_1h: input,
            cache_read: cached,
        },
    }
}

pub const LIST: &[Listed] = &[
    claude("claude-opus-4-5", "Claude Opus 4.5", 5_000_000, 25_000_000),
    claude(
        "claude-opus-4-5-20251101",
        "Claude Opus 4.5 (2025-11-01)",
        5_000_000,
        25_000_000,
    ),
    claude(
        "claude-sonnet-4-5",
        "Claude Sonnet 4.5",
        3_000_000,
        15_000_000,
    ),
    claude(
        "claude-sonnet-4-5-20250929",
        "Claude Sonnet 4.5 (2025-09-29)",
        3_000_000,
        15_000_000,
    ),
    claude("claude-haiku-4-5", "Claude Haiku 4.5", 1_000_000, 5_000_000),
    claude(
        "claude-haiku-4-5-20251001",
        "Claude Haiku 4.5 (2025-10-01)",
        1_000_000,
        5_000_000,
    ),
    claude("claude-opus-4-1", "Claude Opus 4.1", 15_000_000, 75_000_000),
    claude(
        "claude-opus-4-1-20250805",
        "Claude Opus 4.1 (2025-08-05)",
        15_000_000,
        75_000_000,
    ),
    claude(
        "claude-sonnet-4-20250514",
        "Claude Sonnet 4",
        3_000_000,
        15_000_000,
    ),
    claude(
        "claude-opus-4-20250514",
        "Claude Opus 4",
        15_000_000,
        75_000_000,
    ),
    claude(
        "claude-3-5-haiku-20241022",
        "Claude Haiku 3.5",
        800_000,
        4_000_000,
    ),
    openai("gpt-5", "GPT-5", 1_250_000, 10_000_000, 125_000),
    openai("gpt-5-mini", "GPT-5 mini", 250_000, 2_000_000, 25_000),
    openai("gpt-5-nano", "GPT-5 nano", 50_000, 400_000, 5_000),
    openai("gpt-4.1", "GPT-4.1", 2_000_000, 8_000_000, 500_000),
    openai("gpt-4.1-mini", "GPT-4.1 mini", 400_000, 1_600_000, 100_000),
    openai("gpt-4o", "GPT-4o", 2_500_000, 10_000_000, 1_250_000),
    openai("gpt-4o-mini", "GPT-4o mini", 150_000, 600_000, 75_000),
    openai("o3", "o3", 2_000_000, 8_000_000, 500_000),
    openai("o4-mini", "o4-mini", 1_100_000, 4_400_000, 275_000),
];

pub fn find(public_id: &str) -> Option<&'static Listed> {
    LIST.iter().find(|l| l.public_id == public_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_valid() {
        let mut seen = std::collections::HashSet::new();
        for l in LIST {
            assert!(seen.insert(l.public_id), "duplicate {}", l.public_id);
            assert!(super::super::models::validate_model_id(l.public_id, "public_id").is_ok());
        }
    }

    #[test]
    fn claude_cache_prices_follow_the_multipliers_exactly() {
        let sonnet = find("claude-sonnet-4-5").unwrap().prices;
        assert_eq!(sonnet, Prices::with_derived_cache(3_000_000, 15_000_000));
        let haiku = find("claude-3-5-haiku-20241022").unwrap().prices;
        assert_eq!(haiku.cache_write_5m, 1_000_000);
        assert_eq!(haiku.cache_read, 80_000);
    }
}

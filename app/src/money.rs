//! Money as integers. Prices are micro-USD per million tokens; balances and ledger amounts are
//! nano-USD. Decimal USD is parsed exactly (no float on the way in) and rendered at the edges only.

use serde::{Deserialize, Serialize};

/// Decimal places of a price (micro-USD per million tokens).
pub const PRICE_SCALE: u32 = 6;
/// Decimal places of a balance or ledger amount (nano-USD).
pub const BALANCE_SCALE: u32 = 9;

/// Nano-USD in one USD.
pub const NANO_PER_USD: i64 = 1_000_000_000;

/// The five prices of a model, each in micro-USD per million tokens.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prices {
    pub input: i64,
    pub output: i64,
    pub cache_write_5m: i64,
    pub cache_write_1h: i64,
    pub cache_read: i64,
}

impl Prices {
    /// Prices with the cache prices derived from the input price the way Anthropic prices them:
    /// cache write 5 minutes = 1.25 ×, cache write 1 hour = 2 ×, cache read = 0.1 × the input price.
    pub fn with_derived_cache(input: i64, output: i64) -> Prices {
        Prices {
            input,
            output,
            cache_write_5m: derived_cache_write_5m(input),
            cache_write_1h: derived_cache_write_1h(input),
            cache_read: derived_cache_read(input),
        }
    }
}

/// The dearer prices of a request whose input (input + cache writes + cache reads) passes
/// `threshold` tokens, as some models are priced with a long context.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LongContext {
    pub threshold: i64,
    pub prices: Prices,
}

impl LongContext {
    /// Whether a request whose input side (input + cache writes + cache reads) is `input_side`
    /// tokens is charged these prices: when it passes the threshold.
    pub fn applies(&self, input_side: i64) -> bool {
        input_side > self.threshold
    }
}

/// The cost of a request in nano-USD ([`cost_nano`]) at the prices it pays: `long`'s when the
/// request's input side passes its threshold, else `prices`.
pub fn cost_with(prices: &Prices, long: Option<&LongContext>, tokens: [i64; 5]) -> i64 {
    let input_side = tokens[0]
        .saturating_add(tokens[2])
        .saturating_add(tokens[3])
        .saturating_add(tokens[4]);
    match long {
        Some(l) if l.applies(input_side) => cost_nano(&l.prices, tokens),
        _ => cost_nano(prices, tokens),
    }
}

/// The cost in nano-USD of `searches` web searches at `price_per_1000` micro-USD per 1,000: exact,
/// since a micro-USD per 1,000 is a nano-USD per search.
pub fn web_search_cost(searches: i64, price_per_1000: i64) -> i64 {
    searches.max(0).saturating_mul(price_per_1000.max(0))
}

/// 1.25 × the input price, rounded half up to a whole micro-USD.
pub fn derived_cache_write_5m(input: i64) -> i64 {
    div_round_half_up(i128::from(input) * 5, 4)
}

/// 2 × the input price.
pub fn derived_cache_write_1h(input: i64) -> i64 {
    input.saturating_mul(2)
}

/// 0.1 × the input price, rounded half up to a whole micro-USD.
pub fn derived_cache_read(input: i64) -> i64 {
    div_round_half_up(i128::from(input), 10)
}

/// `n / d` rounded half away from zero (d > 0), saturating to the i64 range.
pub fn div_round_half_up(n: i128, d: i128) -> i64 {
    let q = n / d;
    let r = n % d;
    let q = if r.abs() * 2 >= d { q + n.signum() } else { q };
    i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN })
}

/// The cost of a request in nano-USD: Σ tokens × price (micro-USD per million tokens), computed
/// exactly, then divided once by 1000 and rounded half up. Token counts are (input, output,
/// cache write 5 m, cache write 1 h, cache read).
pub fn cost_nano(prices: &Prices, tokens: [i64; 5]) -> i64 {
    let per = [
        prices.input,
        prices.output,
        prices.cache_write_5m,
        prices.cache_write_1h,
        prices.cache_read,
    ];
    let total: i128 = tokens
        .iter()
        .zip(per)
        .map(|(t, p)| i128::from(*t) * i128::from(p))
        .sum();
    div_round_half_up(total, 1000)
}

/// Why a decimal amount was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AmountError {
    Empty,
    NotANumber,
    TooPrecise(u32),
    TooLarge,
    Negative,
}

impl AmountError {
    /// A sentence in English about the amount called `what` (e.g. "The input price").
    pub fn describe(&self, what: &str) -> String {
        self.sentence().arg("what", what).to_string()
    }

    /// A sentence about the amount named by the phrase `what` (a locale file id), in the
    /// reader's language.
    pub fn describe_phrase(&self, what: &'static str) -> crate::i18n::Msg {
        self.sentence().phrase("what", what)
    }

    fn sentence(&self) -> crate::i18n::Msg {
        use crate::i18n::Msg;
        match self {
            AmountError::Empty => Msg::new("error-required"),
            AmountError::NotANumber => Msg::new("error-amount-not-a-number"),
            AmountError::TooPrecise(places) => {
                Msg::new("error-amount-too-precise").arg("places", places)
            }
            AmountError::TooLarge => Msg::new("error-amount-too-large"),
            AmountError::Negative => Msg::new("error-amount-negative"),
        }
    }
}

/// Parses a decimal USD amount ("3", "0.30", "-1.5", "$2") into an integer with `scale` decimal
/// places, exactly. More decimal places than `scale` are refused rather than rounded away.
pub fn parse_usd(raw: &str, scale: u32, allow_negative: bool) -> Result<i64, AmountError> {
    let s = raw.trim();
    let s = s.strip_prefix('$').unwrap_or(s).trim();
    if s.is_empty() {
        return Err(AmountError::Empty);
    }
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (whole, frac) = match digits.split_once('.') {
        Some((w, f)) => (w, f),
        None => (digits, ""),
    };
    let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !all_digits(whole) || !all_digits(frac) {
        return Err(AmountError::NotANumber);
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > scale as usize {
        return Err(AmountError::TooPrecise(scale));
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 15 {
        return Err(AmountError::TooLarge);
    }
    let mut value: i128 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| AmountError::NotANumber)?
    };
    value *= 10i128.pow(scale);
    if !frac.is_empty() {
        let f: i128 = frac.parse().map_err(|_| AmountError::NotANumber)?;
        value += f * 10i128.pow(scale - frac.len() as u32);
    }
    if negative && value != 0 {
        if !allow_negative {
            return Err(AmountError::Negative);
        }
        value = -value;
    }
    i64::try_from(value).map_err(|_| AmountError::TooLarge)
}

/// Parses a price in USD per million tokens into micro-USD.
pub fn parse_price(raw: &str) -> Result<i64, AmountError> {
    parse_usd(raw, PRICE_SCALE, false)
}

/// Parses a balance amount in USD into nano-USD (negative allowed: adjustments can take money off).
pub fn parse_balance(raw: &str) -> Result<i64, AmountError> {
    parse_usd(raw, BALANCE_SCALE, true)
}

/// Renders an integer with `scale` decimal places as USD digits: at least two decimals, trailing
/// zeros beyond those trimmed ("3.00", "0.30", "0.000123", "-1.50"). No currency sign.
pub fn format_usd(value: i64, scale: u32) -> String {
    let unit = 10i128.pow(scale);
    let v = i128::from(value);
    let sign = if v < 0 { "-" } else { "" };
    let abs = v.abs();
    let whole = abs / unit;
    let frac = abs % unit;
    let mut frac = format!("{:0width$}", frac, width = scale as usize);
    while frac.len() > 2 && frac.ends_with('0') {
        frac.pop();
    }
    if scale < 2 {
        return format!("{sign}{whole}");
    }
    format!("{sign}{whole}.{frac}")
}

/// A price for display: "$3.00".
pub fn format_price(micro: i64) -> String {
    format!("${}", format_usd(micro, PRICE_SCALE))
}

/// A price for an input field: "3" or "0.3" (no sign, no padding).
pub fn price_input_value(micro: i64) -> String {
    let s = format_usd(micro, PRICE_SCALE);
    s.strip_suffix(".00").map(str::to_string).unwrap_or(s)
}

/// A balance for display: "$12.50", "-$0.000123".
pub fn format_balance(nano: i64) -> String {
    let s = format_usd(nano, BALANCE_SCALE);
    match s.strip_prefix('-') {
        Some(rest) => format!("-${rest}"),
        None => format!("${s}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn web_searches_cost_their_price_per_thousand_exactly() {
        use super::web_search_cost;
        // $10 per 1,000: one search is one cent, 10,000,000 nano-USD.
        assert_eq!(web_search_cost(1, 10_000_000), 10_000_000);
        assert_eq!(web_search_cost(3, 10_000_000), 30_000_000);
        // $0.001 per 1,000 is one nano-USD a search.
        assert_eq!(web_search_cost(7, 1_000), 7_000);
        assert_eq!(web_search_cost(7, 1), 7);
        assert_eq!(web_search_cost(0, 10_000_000), 0);
        assert_eq!(web_search_cost(-2, 10_000_000), 0);
        assert_eq!(web_search_cost(i64::MAX, 10_000_000), i64::MAX);
    }

    #[test]
    fn long_context_prices_apply_only_past_the_threshold() {
        let base = Prices::with_derived_cache(3_000_000, 15_000_000);
        let long = LongContext {
            threshold: 200_000,
            prices: Prices {
                input: 6_000_000,
                output: 22_500_000,
                ..Prices::with_derived_cache(6_000_000, 22_500_000)
            },
        };
        // Exactly at the threshold: base prices; one token more (in any input-side kind): long.
        let at = [150_000, 1_000, 0, 0, 50_000];
        assert_eq!(cost_with(&base, Some(&long), at), cost_nano(&base, at));
        let past = [150_000, 1_000, 0, 1, 50_000];
        assert_eq!(
            cost_with(&base, Some(&long), past),
            cost_nano(&long.prices, past)
        );
        // Output does not count toward the threshold.
        let out = [1, 500_000, 0, 0, 0];
        assert_eq!(cost_with(&base, Some(&long), out), cost_nano(&base, out));
        assert_eq!(cost_with(&base, None, past), cost_nano(&base, past));
        // 200,001 input tokens at $6 and 1,000 output at $22.50 per million: exact.
        assert_eq!(
            cost_with(&base, Some(&long), [200_001, 1_000, 0, 0, 0]),
            200_001 * 6_000 + 22_500_000
        );
    }

    use super::*;

    #[test]
    fn prices_parse_exactly() {
        let cases = [
            ("3", 3_000_000),
            ("15", 15_000_000),
            ("0.30", 300_000),
            ("0.3", 300_000),
            (".3", 300_000),
            ("3.", 3_000_000),
            ("$3.75", 3_750_000),
            (" 1.000001 ", 1_000_001),
            ("0.1000000", 100_000),
            ("0", 0),
            ("007.5", 7_500_000),
        ];
        for (raw, want) in cases {
            assert_eq!(parse_price(raw), Ok(want), "{raw:?}");
        }
    }

    #[test]
    fn bad_prices_are_refused_with_the_reason() {
        assert_eq!(parse_price(""), Err(AmountError::Empty));
        assert_eq!(parse_price("abc"), Err(AmountError::NotANumber));
        assert_eq!(parse_price("1e3"), Err(AmountError::NotANumber));
        assert_eq!(parse_price("1.2.3"), Err(AmountError::NotANumber));
        assert_eq!(parse_price("."), Err(AmountError::NotANumber));
        assert_eq!(parse_price("0.0000001"), Err(AmountError::TooPrecise(6)));
        assert_eq!(parse_price("-1"), Err(AmountError::Negative));
        assert_eq!(parse_price("9999999999999999"), Err(AmountError::TooLarge));
        assert!(AmountError::TooPrecise(6)
            .describe("The input price")
            .contains("6 decimal places"));
    }

    #[test]
    fn balances_parse_to_nano_usd_and_may_be_negative() {
        assert_eq!(parse_balance("12.50"), Ok(12_500_000_000));
        assert_eq!(parse_balance("-0.000000001"), Ok(-1));
        assert_eq!(parse_balance("-0"), Ok(0));
        assert_eq!(
            parse_balance("0.0000000001"),
            Err(AmountError::TooPrecise(9))
        );
    }

    #[test]
    fn derived_cache_prices_round_half_up() {
        // $3 input: 3.75 / 6 / 0.30.
        assert_eq!(
            Prices::with_derived_cache(3_000_000, 15_000_000),
            Prices {
                input: 3_000_000,
                output: 15_000_000,
                cache_write_5m: 3_750_000,
                cache_write_1h: 6_000_000,
                cache_read: 300_000,
            }
        );
        // 1.25 × 0.000002 = 0.0000025 → 0.000003; 0.1 × 0.000005 = 0.0000005 → 0.000001.
        assert_eq!(derived_cache_write_5m(2), 3);
        assert_eq!(derived_cache_write_5m(1), 1);
        assert_eq!(derived_cache_read(5), 1);
        assert_eq!(derived_cache_read(4), 0);
        assert_eq!(div_round_half_up(-5, 10), -1);
    }

    #[test]
    fn cost_is_exact_and_rounded_once() {
        let sonnet = Prices::with_derived_cache(3_000_000, 15_000_000);
        // 1M input tokens at $3 = 3 USD = 3e9 nano-USD.
        assert_eq!(cost_nano(&sonnet, [1_000_000, 0, 0, 0, 0]), 3_000_000_000);
        // 12 in at $3/M and 7 out at $15/M: 36 + 105 = 141 micro-USD.
        assert_eq!(cost_nano(&sonnet, [12, 7, 0, 0, 0]), 141_000);
        // One token of each cache kind: 3.75 + 6 + 0.30 = 10.05 micro-USD.
        assert_eq!(cost_nano(&sonnet, [0, 0, 1, 1, 1]), 10_050);
        // At $0.000001/M a token costs 0.001 nano-USD: rounding happens once, half up, on the sum.
        let tiny = Prices {
            input: 0,
            output: 0,
            cache_write_5m: 0,
            cache_write_1h: 0,
            cache_read: 1,
        };
        assert_eq!(cost_nano(&tiny, [0, 0, 0, 0, 499]), 0);
        assert_eq!(cost_nano(&tiny, [0, 0, 0, 0, 500]), 1);
        assert_eq!(cost_nano(&tiny, [0, 0, 0, 0, 1500]), 2);
    }

    #[test]
    fn amounts_render_with_two_to_scale_decimals() {
        assert_eq!(format_price(3_000_000), "$3.00");
        assert_eq!(format_price(300_000), "$0.30");
        assert_eq!(format_price(1_000_001), "$1.000001");
        assert_eq!(price_input_value(3_000_000), "3");
        assert_eq!(price_input_value(3_750_000), "3.75");
        assert_eq!(format_balance(12_500_000_000), "$12.50");
        assert_eq!(format_balance(-123_000), "-$0.000123");
        assert_eq!(format_balance(0), "$0.00");
    }

    #[test]
    fn parse_and_format_round_trip() {
        for micro in [0, 1, 10, 300_000, 3_750_000, 75_000_000, 1_234_567_891] {
            assert_eq!(
                parse_price(&format_usd(micro, PRICE_SCALE)),
                Ok(micro),
                "{micro}"
            );
        }
    }
}

//! The console's languages: which there are, how a request picks one, and the look-ups into the
//! locale files (`app/locales/<tag>.ftl`, Fluent). The server picks the language of each page load
//! (the account's saved choice, then the `realms_lang` cookie, then `Accept-Language`) and writes it
//! into `<html lang>`; the browser reads it back from there, so both render the same words.

use std::borrow::Cow;
use std::collections::HashMap;

use fluent_templates::fluent_bundle::FluentValue;
use fluent_templates::{LanguageIdentifier, Loader};
use serde::{Deserialize, Serialize};

fluent_templates::static_loader! {
    static LOCALES = {
        locales: "./locales",
        fallback_language: "en",
        // No Unicode isolation marks around arguments: they would show up in inputs and copies.
        customise: |bundle| bundle.set_use_isolating(false),
    };
}

/// The cookie that holds a visitor's language choice.
pub const LOCALE_COOKIE: &str = "realms_lang";

/// A console language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Locale {
    #[default]
    En,
    ZhCn,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::En, Locale::ZhCn];

    /// The BCP 47 tag: `<html lang>`, the cookie, the stored choice and the locale file's name.
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::ZhCn => "zh-CN",
        }
    }

    /// The language's own name, as the switcher shows it.
    pub fn autonym(self) -> &'static str {
        match self {
            Locale::En => "English",
            Locale::ZhCn => "简体中文",
        }
    }

    /// The language a tag names: any English for `en`, any Chinese for `zh-CN` (the only Chinese
    /// the console has).
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let id: LanguageIdentifier = tag.trim().parse().ok()?;
        match id.language.as_str() {
            "en" => Some(Locale::En),
            "zh" => Some(Locale::ZhCn),
            _ => None,
        }
    }

    /// The first language of an `Accept-Language` header the console has (order decides, as in
    /// Fluent's negotiation; weights are not read).
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let requested = fluent_langneg::accepted_languages::parse(header);
        let available: Vec<LanguageIdentifier> = Locale::ALL
            .iter()
            .filter_map(|l| l.tag().parse().ok())
            .collect();
        let chosen = fluent_langneg::negotiate_languages(
            &requested,
            &available,
            None,
            fluent_langneg::NegotiationStrategy::Lookup,
        );
        chosen
            .first()
            .and_then(|id| Locale::from_tag(&id.to_string()))
    }

    fn id(self) -> LanguageIdentifier {
        match self {
            Locale::En => fluent_templates::langid!("en"),
            Locale::ZhCn => fluent_templates::langid!("zh-CN"),
        }
    }

    /// The text with this id in this language (the English one if this language lacks it).
    pub fn t(self, id: &str) -> String {
        LOCALES.lookup(&self.id(), id)
    }

    /// The text with this id, its `{ $name }` placeables filled.
    pub fn t_with(self, id: &str, args: &[(&'static str, String)]) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = args
            .iter()
            .map(|(k, v)| (Cow::Borrowed(*k), value(v)))
            .collect();
        LOCALES.lookup_with_args(&self.id(), id, &args)
    }

    /// True when this language's locale file has the id (the English fallback does not count).
    pub fn has(self, id: &str) -> bool {
        // Without arguments a sentence with placeables resolves with errors, yet it is there.
        // (the loader reports that as its `FluentError` case, a missing id as another).
        match LOCALES.lookup_single_language::<&str>(&self.id(), id, None) {
            Ok(_) => true,
            Err(e) => format!("{e:?}").starts_with("FluentError"),
        }
    }
}

/// An argument as Fluent sees it: a whole number is a number (plural forms select on it), anything
/// else, formatted amounts included, is text.
fn value(v: &str) -> FluentValue<'static> {
    match v.parse::<i64>() {
        Ok(n) => FluentValue::from(n),
        Err(_) => FluentValue::from(v.to_string()),
    }
}

/// A sentence for a person, by id and arguments, put into words in the reader's language where it
/// is shown: the console renders it in the page's language, the CLI and logs in English.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Msg {
    pub id: Cow<'static, str>,
    pub args: Vec<(Cow<'static, str>, Arg)>,
}

/// The value of a placeable: text as it is, or the id of a phrase put into the same language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arg {
    Text(String),
    Phrase(Cow<'static, str>),
}

impl Msg {
    pub const fn new(id: &'static str) -> Msg {
        Msg {
            id: Cow::Borrowed(id),
            args: Vec::new(),
        }
    }

    /// Adds the value of a `{ $name }` placeable.
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Msg {
        self.args
            .push((Cow::Borrowed(name), Arg::Text(value.to_string())));
        self
    }

    /// Adds a `{ $name }` placeable filled with the phrase `id`, in the language of the sentence.
    pub fn phrase(mut self, name: &'static str, id: &'static str) -> Msg {
        self.args
            .push((Cow::Borrowed(name), Arg::Phrase(Cow::Borrowed(id))));
        self
    }

    pub fn text(&self, locale: Locale) -> String {
        let args: HashMap<Cow<'static, str>, FluentValue> = self
            .args
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    Arg::Text(t) => value(t),
                    Arg::Phrase(id) => FluentValue::from(locale.t(id)),
                };
                (k.clone(), v)
            })
            .collect();
        LOCALES.lookup_with_args(&locale.id(), &self.id, &args)
    }

    /// The sentence in the language of the request being served (English outside the console).
    pub fn say(&self) -> String {
        self.text(page_locale())
    }
}

impl std::fmt::Display for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text(Locale::En))
    }
}

/// The language of the page being rendered.
pub fn use_locale() -> Locale {
    leptos::prelude::use_context::<Locale>().unwrap_or_default()
}

/// The text with this id in the page's language.
pub fn t(id: &str) -> String {
    use_locale().t(id)
}

/// The text with this id in the page's language, its placeables filled.
pub fn t_with(id: &str, args: &[(&'static str, String)]) -> String {
    use_locale().t_with(id, args)
}

/// The language this page load renders in: on the server the one the request's middleware chose
/// (see the module's doc), in the browser the one the server wrote into `<html lang>`.
pub fn page_locale() -> Locale {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::use_context::<http::request::Parts>()
            .and_then(|parts| parts.extensions.get::<Locale>().copied())
            .unwrap_or_default()
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        leptos::prelude::document()
            .document_element()
            .and_then(|html| html.get_attribute("lang"))
            .and_then(|tag| Locale::from_tag(&tag))
            .unwrap_or_default()
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        Locale::default()
    }
}

/// Picks the language of a console request: the account's saved choice, then the cookie, then the
/// browser's `Accept-Language`, then English.
pub fn choose(
    saved: Option<Locale>,
    cookie: Option<&str>,
    accept_language: Option<&str>,
) -> Locale {
    saved
        .or_else(|| cookie.and_then(Locale::from_tag))
        .or_else(|| accept_language.and_then(Locale::from_accept_language))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_name_their_language() {
        assert_eq!(Locale::from_tag("zh-CN"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_tag("zh"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_tag("zh-Hans-CN"), Some(Locale::ZhCn));
        assert_eq!(Locale::from_tag("en-GB"), Some(Locale::En));
        assert_eq!(Locale::from_tag("fr"), None);
        assert_eq!(Locale::from_tag("<script>"), None);
        for l in Locale::ALL {
            assert_eq!(Locale::from_tag(l.tag()), Some(l));
        }
    }

    #[test]
    fn accept_language_order_decides() {
        assert_eq!(
            Locale::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Locale::ZhCn)
        );
        assert_eq!(
            Locale::from_accept_language("en-US,en;q=0.9,zh-CN;q=0.8"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("fr-FR, zh-TW;q=0.5"),
            Some(Locale::ZhCn)
        );
        assert_eq!(Locale::from_accept_language("fr, de"), None);
        assert_eq!(Locale::from_accept_language(""), None);
    }

    #[test]
    fn saved_choice_beats_cookie_beats_browser() {
        let zh = Some("zh-CN,zh;q=0.9");
        assert_eq!(choose(Some(Locale::En), Some("zh-CN"), zh), Locale::En);
        assert_eq!(choose(None, Some("en"), zh), Locale::En);
        assert_eq!(choose(None, Some("nonsense"), zh), Locale::ZhCn);
        assert_eq!(choose(None, None, zh), Locale::ZhCn);
        assert_eq!(choose(None, None, Some("fr")), Locale::En);
        assert_eq!(choose(None, None, None), Locale::En);
    }

    /// The ids a locale file defines (`id = …` at the start of a line).
    fn ids_of(file: &str) -> Vec<String> {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("locales")
                .join(file),
        )
        .unwrap();
        text.lines()
            .filter_map(|l| l.split_once(" ="))
            .map(|(id, _)| id.to_string())
            .filter(|id| {
                id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                    && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            .collect()
    }

    #[test]
    fn both_locale_files_have_the_same_ids_and_each_renders() {
        let mut en = ids_of("en.ftl");
        let mut zh = ids_of("zh-CN.ftl");
        let dup = |ids: &[String]| {
            let mut seen = std::collections::HashSet::new();
            ids.iter()
                .filter(|i| !seen.insert(*i))
                .cloned()
                .collect::<Vec<_>>()
        };
        assert!(dup(&en).is_empty(), "ids twice in en.ftl: {:?}", dup(&en));
        assert!(
            dup(&zh).is_empty(),
            "ids twice in zh-CN.ftl: {:?}",
            dup(&zh)
        );
        en.sort();
        zh.sort();
        let missing_zh: Vec<_> = en.iter().filter(|i| !zh.contains(i)).collect();
        let missing_en: Vec<_> = zh.iter().filter(|i| !en.contains(i)).collect();
        assert!(
            missing_zh.is_empty(),
            "missing from zh-CN.ftl: {missing_zh:?}"
        );
        assert!(missing_en.is_empty(), "missing from en.ftl: {missing_en:?}");
        // Each file parsed whole: every id is found in its own language.
        for id in &en {
            for l in Locale::ALL {
                assert!(l.has(id), "{id} does not load in {}", l.tag());
            }
        }
    }

    /// Every id the code names (in a look-up, a message, a phrase, a table of ids) is in both
    /// locale files. Ids are the string literals that start with a locale file's id prefix.
    #[test]
    fn every_id_the_code_uses_is_in_both_locale_files() {
        let en = ids_of("en.ftl");
        let prefixes: std::collections::HashSet<&str> =
            en.iter().filter_map(|i| i.split('-').next()).collect();
        let mut files = Vec::new();
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "rs") {
                    files.push(p);
                }
            }
        }
        let mut missing = Vec::new();
        let mut used = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap();
            for (i, _) in text.match_indices('"') {
                let rest = &text[i + 1..];
                let Some(end) = rest.find('"') else { continue };
                let lit = &rest[..end];
                // An HTML attribute (`data-testid="…"`, `class="…"`) is not a look-up.
                let html_attr = text[..i].ends_with('=') && !text[..i].ends_with(" =");
                if html_attr || !lit.contains('-') {
                    continue;
                }
                let looks_like_id = lit
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && lit.split('-').next().is_some_and(|p| prefixes.contains(p));
                if !looks_like_id {
                    continue;
                }
                used += 1;
                for l in Locale::ALL {
                    if !l.has(lit) {
                        missing.push(format!("{}: {lit} ({})", f.display(), l.tag()));
                    }
                }
            }
        }
        assert!(used > 300, "only {used} ids found in the code");
        missing.sort();
        missing.dedup();
        assert!(
            missing.is_empty(),
            "ids missing from a locale file:\n{}",
            missing.join("\n")
        );
    }

    #[test]
    fn messages_render_in_each_language_with_their_arguments() {
        let m = Msg::new("error-no-user-with-email").arg("email", "ann@example.com");
        assert_eq!(m.to_string(), "No user has the email ann@example.com.");
        assert!(m.text(Locale::ZhCn).contains("ann@example.com"));
        assert!(!m.text(Locale::ZhCn).contains("No user"));
    }
}

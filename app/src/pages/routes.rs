//! The console's pages and who may open each: the one table the server's page guard, the page frame
//! and the navigation read. A page added to the router must be added here too; a test compares the
//! two (`server/tests/access.rs`) and walks every row as each kind of visitor.

/// Who may open a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Sign-in and sign-up: a signed-in visitor is sent to the dashboard.
    GuestOnly,
    /// Any signed-in, enabled user; anyone else is sent to sign in.
    SignedIn,
    /// Administrators; a plain user gets 403 and a "forbidden" notice.
    Admin,
}

/// Where a page's link sits in the top bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nav {
    /// Not linked from the top bar (sign-in forms, detail pages reached from a list).
    None,
    /// In the main group, with the locale file's id of its label.
    Main(&'static str),
    /// In the admin group, with the locale file's id of its label.
    Admin(&'static str),
}

#[derive(Debug, PartialEq, Eq)]
pub struct Page {
    /// The router's path; `:id` stands for one path segment.
    pub path: &'static str,
    pub access: Access,
    pub nav: Nav,
}

const fn page(path: &'static str, access: Access, nav: Nav) -> Page {
    Page { path, access, nav }
}

pub const PAGES: &[Page] = &[
    page("/login", Access::GuestOnly, Nav::None),
    page("/register", Access::GuestOnly, Nav::None),
    page("/", Access::SignedIn, Nav::Main("nav-dashboard")),
    page("/tokens", Access::SignedIn, Nav::Main("nav-tokens")),
    page("/models", Access::SignedIn, Nav::Main("nav-models")),
    page("/usage", Access::SignedIn, Nav::Main("nav-usage")),
    page(
        "/claude-code",
        Access::SignedIn,
        Nav::Main("nav-claude-code"),
    ),
    page("/admin/channels", Access::Admin, Nav::Admin("nav-channels")),
    page("/admin/channels/:id", Access::Admin, Nav::None),
    page("/admin/models", Access::Admin, Nav::Admin("nav-pricing")),
    page("/admin/models/:id", Access::Admin, Nav::None),
    page("/admin/users", Access::Admin, Nav::Admin("nav-users")),
    page("/admin/users/:id", Access::Admin, Nav::None),
    page("/admin/settings", Access::Admin, Nav::Admin("nav-settings")),
    page("/admin/audit", Access::Admin, Nav::Admin("nav-audit")),
];

/// True when `path` is an address of the route `pattern` (`:name` matches one non-empty segment).
fn matches(pattern: &str, path: &str) -> bool {
    let mut want = pattern.split('/');
    let mut got = path.split('/');
    loop {
        match (want.next(), got.next()) {
            (None, None) => return true,
            (Some(w), Some(g)) if w.starts_with(':') && !g.is_empty() => {}
            (Some(w), Some(g)) if w == g => {}
            _ => return false,
        }
    }
}

/// The page at `path`, if it is one of the console's pages.
pub fn page_at(path: &str) -> Option<&'static Page> {
    PAGES.iter().find(|p| matches(p.path, path))
}

/// Who may open `path`: `None` for what is not a page (assets, server fns, unknown addresses, which
/// render "not found"). Any address under `/admin` is for administrators, listed or not.
pub fn access_of(path: &str) -> Option<Access> {
    match page_at(path) {
        Some(p) => Some(p.access),
        None if path == "/admin" || path.starts_with("/admin/") => Some(Access::Admin),
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_rules() {
        assert_eq!(access_of("/login"), Some(Access::GuestOnly));
        assert_eq!(access_of("/"), Some(Access::SignedIn));
        assert_eq!(access_of("/tokens"), Some(Access::SignedIn));
        assert_eq!(access_of("/admin/settings"), Some(Access::Admin));
        assert_eq!(access_of("/admin/channels/7"), Some(Access::Admin));
        assert_eq!(access_of("/admin/channels/7/x"), Some(Access::Admin));
        assert_eq!(access_of("/admin"), Some(Access::Admin));
        assert_eq!(page_at("/admin/channels/"), None);
        assert_eq!(access_of("/tokens/x"), None);
        assert_eq!(access_of("/administrator"), None);
        assert_eq!(access_of("/pkg/realms.js"), None);
        assert_eq!(access_of(""), None);
    }

    #[test]
    fn every_page_outside_the_sign_in_forms_needs_a_signed_in_user() {
        for p in PAGES {
            if p.path.starts_with("/admin") {
                assert_eq!(p.access, Access::Admin, "{}", p.path);
            }
            if matches!(p.nav, Nav::Admin(_)) {
                assert_eq!(p.access, Access::Admin, "{}", p.path);
            }
        }
    }
}

//! The little HTML the sandbox serves (the authorize pages of both fake providers, the record
//! page) and the redirect URLs those pages answer with.

use url::Url;

/// The sandbox's own HTML escaper, on purpose: the app has one
/// (`sf_inbox::intercom::html_escape`), but this crate must not depend on
/// the app it stands in for (the app depends on it, behind its `sandbox`
/// feature), so the few lines are kept here rather than shared.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A whole page; `title` is escaped here, `body` must already be HTML.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n<body>{body}</body></html>\n",
        html_escape(title)
    )
}

/// A hidden form field.
pub fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        html_escape(name),
        html_escape(value)
    )
}

/// An absolute `http`/`https` URL without a fragment: what a client's `redirect_uri` must be
/// (RFC 6749 §3.1.2). `None` for anything else, so no page redirects to a script URL.
pub fn redirect_target(uri: &str) -> Option<Url> {
    let url = Url::parse(uri).ok()?;
    (matches!(url.scheme(), "http" | "https") && url.fragment().is_none() && url.has_host())
        .then_some(url)
}

/// `target` with `pairs` appended to its query (its own query parameters kept); pairs with an
/// empty value are left out (an absent `state` stays absent).
pub fn with_query(target: &Url, pairs: &[(&str, &str)]) -> String {
    let mut url = target.clone();
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in pairs.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(k, v);
        }
    }
    // `query_pairs_mut` leaves a bare `?` when nothing was appended to an empty query.
    if url.query() == Some("") {
        url.set_query(None);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_targets_are_absolute_http_urls() {
        assert!(redirect_target("http://127.0.0.1:8080/oauth/cb").is_some());
        assert!(redirect_target("https://app.example/cb?x=1").is_some());
        assert!(redirect_target("javascript:alert(1)").is_none());
        assert!(redirect_target("/relative").is_none());
        assert!(redirect_target("https://app.example/cb#frag").is_none());
    }

    #[test]
    fn query_pairs_are_appended_and_encoded() {
        let t = redirect_target("https://app.example/cb?x=1").unwrap();
        assert_eq!(
            with_query(&t, &[("code", "a b&c"), ("state", "")]),
            "https://app.example/cb?x=1&code=a+b%26c"
        );
        let t = redirect_target("https://app.example/cb").unwrap();
        assert_eq!(with_query(&t, &[("state", "")]), "https://app.example/cb");
    }
}

//! Helpers shared by the sandbox crate's HTTP tests.

use std::net::SocketAddr;
use std::path::PathBuf;

pub fn fixtures() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures"))
}

pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().expect("loopback address")
}

/// A client that does not follow redirects: the tests read each `Location`.
pub fn client() -> reqwest::Client {
    // reqwest is built without a default TLS provider; plain http still needs one set.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client builds")
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `name`/`value` attributes of every `<input>` of a page (the sandbox writes them in that
/// order, double-quoted), as a browser would post them.
pub fn inputs(html: &str) -> Vec<(String, String)> {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let len = tag[start..].find('"')?;
        Some(unescape(&tag[start..start + len]))
    };
    html.split("<input")
        .skip(1)
        .filter_map(|rest| {
            let tag = &rest[..rest.find('>')?];
            Some((attr(tag, "name")?, attr(tag, "value").unwrap_or_default()))
        })
        .collect()
}

/// The query parameters of a redirect's `Location`, and the URL before them.
pub fn location(resp: &reqwest::Response) -> (String, Vec<(String, String)>) {
    let loc = resp
        .headers()
        .get("location")
        .expect("a Location header")
        .to_str()
        .expect("ASCII Location");
    let url = url::Url::parse(loc).expect("absolute Location");
    let pairs = url.query_pairs().into_owned().collect();
    let mut base = url.clone();
    base.set_query(None);
    (base.to_string(), pairs)
}

pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

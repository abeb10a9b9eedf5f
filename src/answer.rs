//! What goes back to Intercom for a canvas: its JSON, never over Canvas
//! Kit's 64 KB. A canvas over the limit (a long description typed into a
//! form and echoed back, a long subject) keeps its every component: the
//! longest texts and values are cut, each to the same length, as little as
//! fits, and a line at the top tells the teammate what was cut and why.
//! Pure functions of the canvas; the routes call [`canvas_response`] with
//! an [`Answer`]: a canvas still to serialise, or the bytes of one already
//! serialised (a warm render answered from the render cache).

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::canvas::{Canvas, CanvasResponse};

/// Canvas Kit refuses answers over 64 KB.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// What the teammate reads when something was cut.
pub const CUT_NOTICE: &str = "Some text was too long for Intercom's sidebar (64 KB at most) and was cut: check long values before sending.";

/// A canvas on its way to Intercom.
#[derive(Debug, Clone)]
pub enum Answer {
    /// Still to serialise (and cut to fit).
    Canvas(Canvas),
    /// Already serialised by [`canvas_body`]: at most 64 KB, sent as is.
    Serialised(Bytes),
}

impl From<Canvas> for Answer {
    fn from(canvas: Canvas) -> Answer {
        Answer::Canvas(canvas)
    }
}

impl Answer {
    /// The JSON body Intercom gets, at most [`MAX_ANSWER_BYTES`].
    pub fn into_bytes(self) -> Bytes {
        match self {
            Answer::Canvas(canvas) => canvas_body(canvas),
            Answer::Serialised(bytes) => bytes,
        }
    }

    /// The canvas itself (read back from its bytes when serialised), for
    /// callers that add to it or look into it.
    pub fn into_canvas(self) -> Canvas {
        match self {
            Answer::Canvas(canvas) => canvas,
            Answer::Serialised(bytes) => {
                serde_json::from_slice::<CanvasResponse>(&bytes)
                    .expect("an answer this app serialised reads back")
                    .canvas
            }
        }
    }
}

/// The HTTP answer: `application/json`, at most 64 KB.
pub fn canvas_response(answer: impl Into<Answer>) -> Response {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        answer.into().into_bytes(),
    )
        .into_response()
}

/// The JSON body for `canvas`, cut to fit [`MAX_ANSWER_BYTES`].
pub fn canvas_body(canvas: Canvas) -> Bytes {
    fit(
        serde_json::to_value(canvas.into_response()).expect("a canvas serialises"),
        MAX_ANSWER_BYTES,
    )
}

/// Serialises `answer`, cutting its longest strings (under
/// `canvas.content`) to one common length, the longest that fits `max`.
pub fn fit(answer: Value, max: usize) -> Bytes {
    let whole = serde_json::to_vec(&answer).expect("JSON serialises");
    if whole.len() <= max {
        return Bytes::from(whole);
    }
    let longest = longest_string(&answer["canvas"]["content"]);
    // Binary search the longest common length that fits.
    let (mut lo, mut hi) = (0usize, longest);
    let mut best: Option<Vec<u8>> = None;
    while lo <= hi {
        let mid = lo + (hi - lo) / 2;
        let bytes = serde_json::to_vec(&cut(&answer, mid)).expect("JSON serialises");
        if bytes.len() <= max {
            best = Some(bytes);
            lo = mid + 1;
        } else if mid == 0 {
            break;
        } else {
            hi = mid - 1;
        }
    }
    match best {
        Some(b) => Bytes::from(b),
        // Even empty texts do not fit (a canvas of thousands of
        // components): say so rather than send what Intercom refuses.
        None => Bytes::from(
            serde_json::to_vec(&json!({"canvas": {"content": {"components": [
                {"type": "text", "text": "This screen is too large for Intercom's sidebar.", "style": "header"},
                {"type": "text", "text": CUT_NOTICE, "style": "error"}
            ]}}}))
            .expect("JSON serialises"),
        ),
    }
}

/// `answer` with every string under `canvas.content` longer than `len`
/// characters cut to `len` (ending in `…`), and the notice first.
fn cut(answer: &Value, len: usize) -> Value {
    let mut out = answer.clone();
    cut_strings(&mut out["canvas"]["content"], len);
    if let Some(components) = out["canvas"]["content"]["components"].as_array_mut() {
        components.insert(
            0,
            json!({"type": "text", "text": CUT_NOTICE, "style": "error"}),
        );
    }
    out
}

/// Component types and ids are short; only long texts are cut.
fn cut_strings(v: &mut Value, len: usize) {
    match v {
        Value::String(s) if s.chars().count() > len.max(1) => {
            let mut kept: String = s.chars().take(len.saturating_sub(1)).collect();
            kept.push('…');
            *s = kept;
        }
        Value::Array(items) => items.iter_mut().for_each(|i| cut_strings(i, len)),
        Value::Object(map) => map.values_mut().for_each(|i| cut_strings(i, len)),
        _ => {}
    }
}

fn longest_string(v: &Value) -> usize {
    match v {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(map) => map.values().map(longest_string).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_with(text: &str) -> Value {
        json!({"canvas": {"content": {"components": [
            {"type": "text", "text": "New Case", "style": "header"},
            {"type": "textarea", "id": "case_f_Description", "label": "Description", "value": text}
        ]}, "stored_data": {"view": "case"}}})
    }

    #[test]
    fn a_small_answer_is_untouched() {
        let a = answer_with("short");
        assert_eq!(
            fit(a.clone(), MAX_ANSWER_BYTES),
            serde_json::to_vec(&a).unwrap()
        );
    }

    #[test]
    fn a_long_value_is_cut_to_fit_with_a_notice() {
        let long = "é".repeat(120_000);
        let body = fit(answer_with(&long), MAX_ANSWER_BYTES);
        assert!(body.len() <= MAX_ANSWER_BYTES, "{}", body.len());
        let v: Value = serde_json::from_slice(&body).unwrap();
        let components = v["canvas"]["content"]["components"].as_array().unwrap();
        assert_eq!(components[0]["text"], CUT_NOTICE);
        assert_eq!(components[1]["text"], "New Case", "short texts are kept");
        let kept = components[2]["value"].as_str().unwrap();
        assert!(
            kept.ends_with('…') && kept.chars().count() > 10_000,
            "cut no more than needed"
        );
        assert_eq!(v["canvas"]["stored_data"]["view"], "case");
    }
}

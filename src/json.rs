//! A tiny JSON writer: enough for the profile export and the JSON wire format
//! without pulling a serializer into the wasm.

/// Appends `s` as a JSON string literal (quoted and escaped).
pub fn push_str(out: &mut String, s: &str) {
    out.push('"');
    push_esc(out, s);
    out.push('"');
}

/// Appends `s` escaped for the inside of a JSON string literal.
pub fn push_esc(out: &mut String, s: &str) {
    for c in s.chars() {
        esc(out, c);
    }
}

/// Appends `c` escaped for the inside of a JSON string literal.
pub fn esc(out: &mut String, c: char) {
    match c {
        '"' => out.push_str("\\\""),
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        // `<` escaped so that JSON embedded in HTML can never close a tag.
        '<' => out.push_str("\\u003c"),
        c if (c as u32) < 0x20 => {
            const D: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(D[(c as usize) >> 4] as char);
            out.push(D[(c as usize) & 15] as char);
        }
        c => out.push(c),
    }
}

/// Appends an unsigned integer.
pub fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Digits are ASCII.
    for &d in buf.get(i..).unwrap_or(&[]) {
        out.push(d as char);
    }
}

/// An unsigned integer as a string (without the formatting machinery).
pub fn itoa(v: u64) -> String {
    let mut s = String::new();
    push_u64(&mut s, v);
    s
}

/// Appends a signed integer.
pub fn push_i64(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    push_u64(out, v.unsigned_abs());
}

/// Builds a JSON object field by field.
pub struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    /// Opens an object.
    pub fn new(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }

    /// Writes a key and returns the buffer for its value.
    pub fn key(&mut self, k: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        push_str(self.out, k);
        self.out.push(':');
        self.out
    }

    /// A string field.
    pub fn str(&mut self, k: &str, v: &str) -> &mut Self {
        push_str(self.key(k), v);
        self
    }

    /// A string field when present.
    pub fn opt_str(&mut self, k: &str, v: &Option<String>) -> &mut Self {
        if let Some(v) = v {
            self.str(k, v);
        }
        self
    }

    /// An integer field.
    pub fn int(&mut self, k: &str, v: i64) -> &mut Self {
        push_i64(self.key(k), v);
        self
    }

    /// A boolean field.
    pub fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k).push_str(if v { "true" } else { "false" });
        self
    }

    /// Closes the object.
    pub fn end(self) {
        self.out.push('}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_escaped_objects() {
        let mut s = String::new();
        let mut o = Obj::new(&mut s);
        o.str("a", "x\"y\\z\n</script>\u{1}").int("n", -42).bool("b", true).opt_str("none", &None);
        o.int("big", i64::MAX);
        o.end();
        assert_eq!(s, r#"{"a":"x\"y\\z\n\u003c/script>\u0001","n":-42,"b":true,"big":9223372036854775807}"#);
    }
}

use super::*;

const KEY: &[u8] = b"dGhlIHNhbXBsZSBub25jZQ==";

fn request<'a>(extra: &[(&'a [u8], &'a [u8])]) -> Vec<(&'a [u8], &'a [u8])> {
    let mut h: Vec<(&[u8], &[u8])> = vec![
        (b"Host", b"server.example.com"),
        (b"Upgrade", b"websocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Key", KEY),
        (b"Sec-WebSocket-Version", b"13"),
    ];
    h.extend_from_slice(extra);
    h
}

fn without(name: &str) -> Vec<(&'static [u8], &'static [u8])> {
    request(&[])
        .into_iter()
        .filter(|(n, _)| !n.eq_ignore_ascii_case(name.as_bytes()))
        .collect()
}

fn header<'a>(accepted: &'a Accepted, name: &str) -> Option<&'a str> {
    accepted
        .headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn computes_the_rfc_6455_accept_key() {
    // RFC 6455 §1.3.
    assert_eq!(accept_key(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

#[test]
fn accepts_the_rfc_handshake() {
    let accepted = accept(&request(&[]), None, &Config::DEFAULT).unwrap();
    assert_eq!(
        accepted.headers,
        [
            ("Upgrade", "websocket".to_owned()),
            ("Connection", "Upgrade".to_owned()),
            (
                "Sec-WebSocket-Accept",
                "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".to_owned()
            ),
        ]
    );
    assert_eq!(
        (accepted.subprotocol.as_deref(), accepted.deflate),
        (None, None)
    );
}

#[test]
fn header_names_and_tokens_are_case_insensitive_and_lists_are_read() {
    let headers: &[(&[u8], &[u8])] = &[
        (b"UPGRADE", b"h2c, WebSocket"),
        (b"connection", b"keep-alive"),
        (b"CONNECTION", b"close , UPGRADE "),
        (b"sec-websocket-key", b" dGhlIHNhbXBsZSBub25jZQ== "),
        (b"sec-websocket-version", b"13"),
    ];
    assert!(accept(headers, None, &Config::DEFAULT).is_ok());
}

#[test]
fn refuses_a_request_without_upgrade_websocket_with_400() {
    for refused in [
        accept(&without("upgrade"), None, &Config::DEFAULT),
        accept(
            &request(&[])
                .into_iter()
                .map(|(n, v)| {
                    if n == b"Upgrade" {
                        (n, b"h2c" as &[u8])
                    } else {
                        (n, v)
                    }
                })
                .collect::<Vec<_>>(),
            None,
            &Config::DEFAULT,
        ),
    ] {
        let refusal = refused.unwrap_err();
        assert_eq!((refusal, refusal.status()), (Refusal::NotWebSocket, 400));
    }
}

#[test]
fn refuses_a_request_without_connection_upgrade_with_400() {
    let refusal = accept(&without("connection"), None, &Config::DEFAULT).unwrap_err();
    assert_eq!(
        (refusal, refusal.status()),
        (Refusal::NoConnectionUpgrade, 400)
    );
}

#[test]
fn refuses_other_versions_with_426_naming_13() {
    let mut cases = vec![without("sec-websocket-version")];
    for version in [b"8" as &[u8], b"14", b"13, 8", b""] {
        let mut h = without("sec-websocket-version");
        h.push((b"Sec-WebSocket-Version", version));
        cases.push(h);
    }
    for headers in cases {
        let refusal = accept(&headers, None, &Config::DEFAULT).unwrap_err();
        assert_eq!(refusal, Refusal::UnsupportedVersion);
        assert_eq!(refusal.status(), 426);
        assert_eq!(refusal.headers(), [("Sec-WebSocket-Version", "13")]);
    }
}

#[test]
fn refuses_a_missing_or_bad_key_with_400() {
    let refusal = accept(&without("sec-websocket-key"), None, &Config::DEFAULT).unwrap_err();
    assert_eq!((refusal, refusal.status()), (Refusal::MissingKey, 400));
    for key in [
        b"dGhlIHNhbXBsZSBub25jZQ" as &[u8], // no padding
        b"dGhlIHNhbXBsZSBub25jZSE=",        // 17 bytes
        b"dGhlIHNhbXBsZSBub25j",            // 15 bytes
        b"not base64 at all!!!!!==",
        b"",
    ] {
        let mut h = without("sec-websocket-key");
        h.push((b"Sec-WebSocket-Key", key));
        let refusal = accept(&h, None, &Config::DEFAULT).unwrap_err();
        assert_eq!(
            (refusal, refusal.status()),
            (Refusal::BadKey, 400),
            "{key:?}"
        );
    }
    let twice = request(&[(b"Sec-WebSocket-Key", KEY)]);
    assert_eq!(
        accept(&twice, None, &Config::DEFAULT).unwrap_err(),
        Refusal::BadKey
    );
}

#[test]
fn offers_subprotocols_for_the_app_to_pick() {
    let headers = request(&[
        (b"Sec-WebSocket-Protocol", b"chat, superchat"),
        (b"sec-websocket-protocol", b" graphql-ws ,"),
    ]);
    let offer = ClientHandshake::parse(&headers).unwrap();
    assert_eq!(offer.subprotocols(), ["chat", "superchat", "graphql-ws"]);
    let accepted = offer.accept(Some("graphql-ws"), &Config::DEFAULT).unwrap();
    assert_eq!(
        header(&accepted, "Sec-WebSocket-Protocol"),
        Some("graphql-ws")
    );
    assert_eq!(accepted.subprotocol.as_deref(), Some("graphql-ws"));
    assert_eq!(
        accepted.subprotocols_offered(),
        ["chat", "superchat", "graphql-ws"]
    );
    // No choice: no header.
    let accepted = offer.accept(None, &Config::DEFAULT).unwrap();
    assert_eq!(header(&accepted, "Sec-WebSocket-Protocol"), None);
}

#[test]
fn a_subprotocol_not_offered_is_the_apps_error() {
    let headers = request(&[(b"Sec-WebSocket-Protocol", b"chat")]);
    let refusal = accept(&headers, Some("chat\r\nX-Injected: 1"), &Config::DEFAULT).unwrap_err();
    assert_eq!(
        (refusal, refusal.status()),
        (Refusal::SubprotocolNotOffered, 500)
    );
    assert_eq!(
        accept(&headers, Some("Chat"), &Config::DEFAULT).unwrap_err(),
        Refusal::SubprotocolNotOffered
    );
}

#[test]
fn negotiates_permessage_deflate() {
    let headers = request(&[(
        b"Sec-WebSocket-Extensions",
        b"permessage-deflate; client_max_window_bits; server_no_context_takeover",
    )]);
    let accepted = accept(&headers, None, &Config::DEFAULT).unwrap();
    assert_eq!(
        header(&accepted, "Sec-WebSocket-Extensions"),
        Some("permessage-deflate; server_no_context_takeover")
    );
    let params = accepted.deflate.unwrap();
    assert!(params.server_no_context_takeover);
    assert_eq!(accepted.session.deflate(), Some(&params));
}

#[test]
fn unknown_or_malformed_extensions_leave_the_connection_uncompressed() {
    for value in [
        b"x-webkit-deflate-frame" as &[u8],
        b"permessage-deflate; =",
        b"permessage-deflate; foo",
    ] {
        let headers = request(&[(b"Sec-WebSocket-Extensions", value)]);
        let accepted = accept(&headers, None, &Config::DEFAULT).unwrap();
        assert_eq!(header(&accepted, "Sec-WebSocket-Extensions"), None);
        assert_eq!(accepted.deflate, None);
    }
}

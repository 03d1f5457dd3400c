use super::*;

fn negotiate(header: &str) -> Option<(DeflateParams, String)> {
    negotiate_with(header, &Config::DEFAULT)
}

fn negotiate_with(header: &str, config: &Config) -> Option<(DeflateParams, String)> {
    negotiate_deflate(&parse_offers([header.as_bytes()])?, config)
}

#[test]
fn parses_extensions_with_parameters_and_quoted_values() {
    let offers = parse_offers([
        b"permessage-deflate; client_max_window_bits, foo;bar=\"1\" , ,x-webkit" as &[u8],
        b"baz ; q = 2",
    ])
    .unwrap();
    let names: Vec<_> = offers.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["permessage-deflate", "foo", "x-webkit", "baz"]);
    assert_eq!(offers[0].params, [("client_max_window_bits".into(), None)]);
    assert_eq!(offers[1].params, [("bar".into(), Some("1".into()))]);
    assert_eq!(offers[3].params, [("q".into(), Some("2".into()))]);
}

#[test]
fn a_malformed_header_offers_nothing() {
    for bad in [
        "permessage-deflate;",
        "a b",
        "x; y=\"unterminated",
        "x; y=\"a b\"",
        "x;=1",
    ] {
        assert_eq!(parse_offers([bad.as_bytes()]), None, "{bad}");
    }
}

#[test]
fn accepts_a_plain_offer() {
    let (params, answer) = negotiate("permessage-deflate").unwrap();
    assert_eq!(answer, "permessage-deflate");
    assert_eq!(params, DeflateParams::default());
}

#[test]
fn honours_no_context_takeover_both_ways() {
    let (params, answer) =
        negotiate("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
            .unwrap();
    assert!(params.server_no_context_takeover && params.client_no_context_takeover);
    assert_eq!(
        answer,
        "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
    );
}

#[test]
fn honours_a_smaller_server_window() {
    let (params, answer) = negotiate("permessage-deflate; server_max_window_bits=10").unwrap();
    assert_eq!(params.server_max_window_bits, 10);
    assert_eq!(answer, "permessage-deflate; server_max_window_bits=10");
    let (params, _) = negotiate("permessage-deflate; server_max_window_bits=\"12\"").unwrap();
    assert_eq!(params.server_max_window_bits, 12);
}

#[test]
fn client_max_window_bits_is_accepted_and_not_answered() {
    for offer in [
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; client_max_window_bits=9",
    ] {
        let (params, answer) = negotiate(offer).unwrap();
        assert_eq!(answer, "permessage-deflate", "{offer}");
        assert_eq!(params.client_max_window_bits, 15);
    }
}

#[test]
fn declines_what_it_cannot_honour_and_takes_the_next_offer() {
    for bad in [
        "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=09",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; unknown_param",
        "x-webkit-deflate-frame",
    ] {
        assert_eq!(negotiate(bad), None, "{bad}");
        let fallback = format!("{bad}, permessage-deflate; client_max_window_bits");
        let (_, answer) = negotiate(&fallback).unwrap();
        assert_eq!(answer, "permessage-deflate", "{fallback}");
    }
}

#[test]
fn the_servers_own_preferences_are_announced() {
    let config = Config {
        deflate_window_bits: 11,
        server_no_context_takeover: true,
        ..Config::DEFAULT
    };
    let (params, answer) = negotiate_with("permessage-deflate", &config).unwrap();
    assert_eq!(params.server_max_window_bits, 11);
    assert_eq!(
        answer,
        "permessage-deflate; server_no_context_takeover; server_max_window_bits=11"
    );
    // The client's smaller window wins over ours; ours wins over a larger one.
    let (params, _) =
        negotiate_with("permessage-deflate; server_max_window_bits=9", &config).unwrap();
    assert_eq!(params.server_max_window_bits, 9);
    let (params, _) =
        negotiate_with("permessage-deflate; server_max_window_bits=14", &config).unwrap();
    assert_eq!(params.server_max_window_bits, 11);
}

#[test]
fn compression_switched_off_declines_everything() {
    let config = Config {
        permessage_deflate: false,
        ..Config::DEFAULT
    };
    assert_eq!(negotiate_with("permessage-deflate", &config), None);
}

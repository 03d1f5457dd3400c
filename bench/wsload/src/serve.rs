//! `wsload serve ADDR`: a plain Rust echo server, the ceiling of the generator and the
//! loopback (not a peer).

use crate::*;

/// One connection of the calibration server.
pub(crate) struct Peer {
    stream: TcpStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    upgraded: bool,
    closed: bool,
}

impl Peer {
    fn flush(&mut self) {
        while !self.closed && self.out_pos < self.out.len() {
            match self.stream.write(&self.out[self.out_pos..]) {
                Ok(0) => self.closed = true,
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => self.closed = true,
            }
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
    }

    /// Answers the request head at the start of `inbuf`, if it is all there.
    fn handshake(&mut self) {
        let Some(end) = self.inbuf.windows(4).position(|w| w == b"\r\n\r\n") else {
            if self.inbuf.len() > 16 << 10 {
                self.closed = true;
            }
            return;
        };
        let head = String::from_utf8_lossy(&self.inbuf[..end]).into_owned();
        self.inbuf.drain(..end + 4);
        let key = head
            .split("\r\n")
            .filter_map(|l| l.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-key"))
            .map(|(_, v)| v.trim().to_string());
        match key {
            Some(key) => {
                self.out.extend_from_slice(
                    format!(
                        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                         Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                        accept_key(&key)
                    )
                    .as_bytes(),
                );
                self.upgraded = true;
            }
            None => self.out.extend_from_slice(
                b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\n\
                  Hello, World!",
            ),
        }
    }

    /// Echoes every whole frame in `inbuf` (unmasked, as a server sends).
    fn echo(&mut self) {
        let mut at = 0;
        while !self.closed {
            let frame = match parse_frame(&mut self.inbuf[at..]) {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(_) => {
                    self.closed = true;
                    break;
                }
            };
            let payload = at + frame.payload.start..at + frame.payload.end;
            let opcode = match frame.opcode {
                OP_PING => OP_PONG,
                OP_PONG => {
                    at = payload.end;
                    continue;
                }
                op => op,
            };
            let len = payload.len();
            self.out.push(if frame.fin { 0x80 } else { 0 } | opcode);
            if len < 126 {
                self.out.push(len as u8);
            } else if len <= 0xFFFF {
                self.out.push(126);
                self.out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                self.out.push(127);
                self.out.extend_from_slice(&(len as u64).to_be_bytes());
            }
            self.out.extend_from_slice(&self.inbuf[payload.clone()]);
            at = payload.end;
            if opcode == OP_CLOSE {
                self.flush();
                self.closed = true;
            }
        }
        self.inbuf.drain(..at);
    }
}

pub(crate) fn serve(addr: &str) -> Result<(), String> {
    raise_nofile();
    let addr: SocketAddr = addr.parse().map_err(|e| format!("{addr}: {e}"))?;
    let mut listener =
        mio::net::TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?;
    let mut poll = Poll::new().map_err(|e| e.to_string())?;
    const LISTENER: Token = Token(usize::MAX);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .map_err(|e| e.to_string())?;
    let mut peers: Vec<Option<Peer>> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let mut chunk = vec![0u8; READ_CHUNK];
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("poll: {e}")),
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let _ = stream.set_nodelay(true);
                    let slot = peers
                        .iter()
                        .position(Option::is_none)
                        .unwrap_or(peers.len());
                    if slot == peers.len() {
                        peers.push(None);
                    }
                    poll.registry()
                        .register(
                            &mut stream,
                            Token(slot),
                            Interest::READABLE | Interest::WRITABLE,
                        )
                        .map_err(|e| e.to_string())?;
                    peers[slot] = Some(Peer {
                        stream,
                        inbuf: Vec::new(),
                        out: Vec::new(),
                        out_pos: 0,
                        upgraded: false,
                        closed: false,
                    });
                }
                continue;
            }
            let slot = event.token().0;
            let Some(peer) = peers[slot].as_mut() else {
                continue;
            };
            loop {
                match peer.stream.read(&mut chunk) {
                    Ok(0) => {
                        peer.closed = true;
                        break;
                    }
                    Ok(n) => peer.inbuf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => {
                        peer.closed = true;
                        break;
                    }
                }
            }
            if !peer.upgraded {
                peer.handshake();
            }
            if peer.upgraded {
                peer.echo();
            }
            peer.flush();
            if peer.closed {
                let _ = poll.registry().deregister(&mut peer.stream);
                peers[slot] = None;
            }
        }
    }
}

//! The host's side of a request body.

use std::ffi::c_void;

use abi_stable::std_types::{RErr, ROk, RResult, RSliceMut, RStr};

use crate::request::BodyReader;

/// A request body served `piece` bytes at a time through a [`BodyReader`].
#[derive(Debug, Clone)]
pub struct FakeBody {
    data: Vec<u8>,
    pos: usize,
    piece: usize,
    /// How many times the plugin called `read`.
    pub reads: usize,
    /// When set, every read fails with this message (a client that went away).
    pub fail: Option<&'static str>,
}

impl FakeBody {
    /// A body served at most `piece` bytes per read (`piece` > 0).
    pub fn new(data: &[u8], piece: usize) -> FakeBody {
        assert!(piece > 0, "a body served 0 bytes at a time never ends");
        FakeBody {
            data: data.to_vec(),
            pos: 0,
            piece,
            reads: 0,
            fail: None,
        }
    }

    /// A [`BodyReader`] over this body.
    pub fn reader(&mut self) -> BodyReader<'_> {
        BodyReader {
            ctx: (self as *mut FakeBody).cast(),
            read: fake_read,
            _marker: std::marker::PhantomData,
        }
    }
}

extern "C" fn fake_read(
    ctx: *mut c_void,
    mut buf: RSliceMut<'_, u8>,
) -> RResult<usize, RStr<'static>> {
    // SAFETY: `ctx` is the `FakeBody` that made this reader, which borrows it mutably.
    let body = unsafe { &mut *ctx.cast::<FakeBody>() };
    body.reads += 1;
    if let Some(msg) = body.fail {
        return RErr(RStr::from_str(msg));
    }
    let n = (body.data.len() - body.pos).min(body.piece).min(buf.len());
    buf.as_mut_slice()[..n].copy_from_slice(&body.data[body.pos..body.pos + n]);
    body.pos += n;
    ROk(n)
}

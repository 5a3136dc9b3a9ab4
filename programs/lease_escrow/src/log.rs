//! Program logs. On the host (unit tests) they go nowhere.

/// `Program log: <message>`.
#[inline(always)]
pub fn message(message: &str) {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    // SAFETY: the syscall only reads `len` bytes from `ptr`, which `message` owns.
    unsafe {
        pinocchio::syscalls::sol_log_(message.as_ptr(), message.len() as u64);
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    let _ = message;
}

/// `Program data: <base64>` of one buffer, which is how Anchor's `emit!` logs an event and what its
/// `EventParser` reads back (several buffers would each get their own base64 word).
#[inline(always)]
pub fn data(bytes: &[u8]) {
    #[cfg(any(target_os = "solana", target_arch = "bpf"))]
    {
        let slices: [&[u8]; 1] = [bytes];
        // SAFETY: the syscall reads an array of `len` fat slices, each valid for its length.
        unsafe {
            pinocchio::syscalls::sol_log_data(slices.as_ptr() as *const u8, slices.len() as u64);
        }
    }
    #[cfg(not(any(target_os = "solana", target_arch = "bpf")))]
    let _ = bytes;
}

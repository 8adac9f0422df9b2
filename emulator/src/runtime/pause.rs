//! The pause image: the container that holds each task's network namespace,
//! as the ECS agent's `pause` container does for awsvpc tasks.
//!
//! No registry can be assumed, so the image is built locally from `scratch`
//! with a tiny static ELF that blocks forever. PID 1 in a container ignores
//! signals it has no handler for, so the runtime removes it with SIGKILL.

/// Tag of the locally built pause image.
pub const PAUSE_IMAGE: &str = "fargate-emulator/pause:1";

const LOAD_ADDRESS: u64 = 0x40_0000;
const ELF_HEADER_LEN: u64 = 64;
const PROGRAM_HEADER_LEN: u64 = 56;

/// Machine code that never returns.
fn pause_code(arch: &str) -> Option<Vec<u8>> {
    match arch {
        // loop: mov eax, 34 (pause); syscall; jmp loop
        "x86_64" => Some(vec![0xb8, 0x22, 0, 0, 0, 0x0f, 0x05, 0xeb, 0xf7]),
        // loop: x0..x3 = 0; x8 = 73 (ppoll); svc #0; b loop
        "aarch64" => Some(
            [
                0xd280_0000u32,
                0xd280_0001,
                0xd280_0002,
                0xd280_0003,
                0xd280_0928,
                0xd400_0001,
                0x17ff_fffa,
            ]
            .iter()
            .flat_map(|i| i.to_le_bytes())
            .collect(),
        ),
        _ => None,
    }
}

/// A minimal static ELF64 executable for `arch` (`x86_64` or `aarch64`).
pub fn pause_elf(arch: &str) -> Option<Vec<u8>> {
    let code = pause_code(arch)?;
    let machine: u16 = if arch == "x86_64" { 0x3e } else { 0xb7 };
    let file_len = ELF_HEADER_LEN + PROGRAM_HEADER_LEN + code.len() as u64;
    let mut elf = Vec::with_capacity(file_len as usize);
    // ELF header: 64-bit, little endian, version 1, System V ABI.
    elf.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    elf.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    elf.extend_from_slice(&machine.to_le_bytes());
    elf.extend_from_slice(&1u32.to_le_bytes()); // EV_CURRENT
    elf.extend_from_slice(&(LOAD_ADDRESS + ELF_HEADER_LEN + PROGRAM_HEADER_LEN).to_le_bytes());
    elf.extend_from_slice(&ELF_HEADER_LEN.to_le_bytes()); // program headers follow
    elf.extend_from_slice(&0u64.to_le_bytes()); // no section headers
    elf.extend_from_slice(&0u32.to_le_bytes()); // flags
    elf.extend_from_slice(&(ELF_HEADER_LEN as u16).to_le_bytes());
    elf.extend_from_slice(&(PROGRAM_HEADER_LEN as u16).to_le_bytes());
    elf.extend_from_slice(&1u16.to_le_bytes()); // one program header
    elf.extend_from_slice(&[0; 6]); // no sections
                                    // One PT_LOAD segment, read + execute, mapping the whole file.
    elf.extend_from_slice(&1u32.to_le_bytes());
    elf.extend_from_slice(&5u32.to_le_bytes());
    elf.extend_from_slice(&0u64.to_le_bytes());
    elf.extend_from_slice(&LOAD_ADDRESS.to_le_bytes());
    elf.extend_from_slice(&LOAD_ADDRESS.to_le_bytes());
    elf.extend_from_slice(&file_len.to_le_bytes());
    elf.extend_from_slice(&file_len.to_le_bytes());
    elf.extend_from_slice(&0x1000u64.to_le_bytes());
    elf.extend_from_slice(&code);
    Some(elf)
}

/// A `docker build` context (tar) for the pause image.
pub fn build_context(arch: &str) -> std::io::Result<Vec<u8>> {
    let elf = pause_elf(arch).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("no pause binary for architecture {arch}"),
        )
    })?;
    let dockerfile = b"FROM scratch\nCOPY pause /pause\nENTRYPOINT [\"/pause\"]\n";
    let mut tar = tar::Builder::new(Vec::new());
    for (path, data, mode) in [
        ("Dockerfile", &dockerfile[..], 0o644),
        ("pause", &elf[..], 0o755),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_cksum();
        tar.append_data(&mut header, path, data)?;
    }
    tar.into_inner()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elf_header_is_consistent() {
        for arch in ["x86_64", "aarch64"] {
            let elf = pause_elf(arch).unwrap();
            assert_eq!(&elf[..4], b"\x7fELF");
            let entry = u64::from_le_bytes(elf[24..32].try_into().unwrap());
            assert_eq!(entry - LOAD_ADDRESS, ELF_HEADER_LEN + PROGRAM_HEADER_LEN);
            let filesz = u64::from_le_bytes(elf[96..104].try_into().unwrap());
            assert_eq!(filesz as usize, elf.len());
        }
        assert!(pause_elf("riscv64").is_none());
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_x86_64_binary_runs_and_blocks() {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("pause-{}", uuid::Uuid::new_v4()));
        std::fs::write(&path, pause_elf("x86_64").unwrap()).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut child = std::process::Command::new(&path).spawn().unwrap();
        // Blocking is what is tested: still running after a while.
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(child.try_wait().unwrap().is_none(), "pause exited early");
        child.kill().unwrap();
        child.wait().unwrap();
        std::fs::remove_file(path).unwrap();
    }
}

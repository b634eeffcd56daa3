// Package vmtest boots the data-path tests on another kernel: it builds an
// initramfs (newc cpio) holding a static init, the test binaries and the kernel
// modules they need, for .ci/kernel-matrix to boot in qemu.
//
// The kernel under test comes from a distribution's kernel package unpacked into
// a work directory (never installed as the host's kernel). Its modules carry
// their dependencies in the .modinfo ELF section, so no depmod output is needed.
//
// cmd/mkinitramfs packs the archive; cmd/vminit is the init that runs inside the
// guest, runs every test binary and prints one result line per binary and a final
// verdict line that the script reads.
package vmtest

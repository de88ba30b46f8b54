package org.mpsprot.barrier;

import com.sun.jna.Function;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A minimal io_uring through the raw system calls (no liburing): one ring, one registered buffer,
 * READ_FIXED into it. Enough to make the kernel write into a tracked page through its own pinned
 * reference (.tracker.pinned). Not thread-safe; one submission at a time.
 */
final class IoUring implements AutoCloseable {
  // The generic system call numbers (x86-64 and aarch64 alike).
  private static final long SYS_IO_URING_SETUP = 425;
  private static final long SYS_IO_URING_ENTER = 426;
  private static final long SYS_IO_URING_REGISTER = 427;
  private static final int IORING_REGISTER_BUFFERS = 0;
  private static final int IORING_UNREGISTER_BUFFERS = 1;
  private static final int IORING_OP_READ_FIXED = 4;
  private static final int IORING_ENTER_GETEVENTS = 1;
  private static final int IORING_FEAT_SINGLE_MMAP = 1;
  private static final long IORING_OFF_SQ_RING = 0;
  private static final long IORING_OFF_CQ_RING = 0x8000000L;
  private static final long IORING_OFF_SQES = 0x10000000L;
  private static final int PROT_RW = 3;
  private static final int MAP_SHARED_POPULATE = 0x01 | 0x8000;

  private static final Function SYSCALL = Function.getFunction("c", "syscall");
  private static final Function MMAP = Function.getFunction("c", "mmap");
  private static final Function MUNMAP = Function.getFunction("c", "munmap");
  private static final Function CLOSE = Function.getFunction("c", "close");
  private static final Function OPEN = Function.getFunction("c", "open");

  private final int fd;
  private final Pointer sq, cq, sqes;
  private final long sqSize, cqSize, sqesSize;
  private final boolean singleMmap;
  private final int sqHead, sqTail, sqMask, sqArray, cqHead, cqTail, cqMask, cqes;
  private boolean registered;

  /**
   * Null when io_uring can be used here, else why not: kernel.io_uring_disabled, or the
   * io_uring_setup system call refused (ENOSYS, EPERM from a seccomp filter).
   */
  static String unavailableReason() {
    try {
      String disabled = Files.readString(Path.of("/proc/sys/kernel/io_uring_disabled")).trim();
      if (!disabled.equals("0")) {
        return "kernel.io_uring_disabled is " + disabled;
      }
    } catch (IOException e) {
      // Older kernels have no such sysctl: the setup below says.
    }
    try (IoUring ring = new IoUring(2)) {
      return null;
    } catch (IllegalStateException e) {
      return e.getMessage();
    }
  }

  IoUring(int entries) {
    Memory params = new Memory(120);
    params.clear();
    fd = (int) syscall(SYS_IO_URING_SETUP, (long) entries, params);
    if (fd < 0) {
      throw new IllegalStateException("io_uring_setup failed: errno " + Native.getLastError());
    }
    int sqEntries = params.getInt(0);
    int cqEntries = params.getInt(4);
    int features = params.getInt(20);
    sqHead = params.getInt(40);
    sqTail = params.getInt(44);
    sqMask = params.getInt(48);
    sqArray = params.getInt(64);
    cqHead = params.getInt(80);
    cqTail = params.getInt(84);
    cqMask = params.getInt(88);
    cqes = params.getInt(100);
    singleMmap = (features & IORING_FEAT_SINGLE_MMAP) != 0;
    long sqBytes = sqArray + 4L * sqEntries;
    long cqBytes = cqes + 16L * cqEntries;
    if (singleMmap) {
      sqBytes = cqBytes = Math.max(sqBytes, cqBytes);
    }
    sqSize = sqBytes;
    cqSize = cqBytes;
    sqesSize = 64L * sqEntries;
    sq = map(sqSize, IORING_OFF_SQ_RING);
    cq = singleMmap ? sq : map(cqSize, IORING_OFF_CQ_RING);
    sqes = map(sqesSize, IORING_OFF_SQES);
  }

  private static long syscall(long nr, Object... args) {
    Object[] all = new Object[args.length + 1];
    all[0] = nr;
    System.arraycopy(args, 0, all, 1, args.length);
    return SYSCALL.invokeLong(all);
  }

  private Pointer map(long size, long offset) {
    Pointer p = (Pointer) MMAP.invoke(Pointer.class,
        new Object[] {Pointer.NULL, size, PROT_RW, MAP_SHARED_POPULATE, fd, offset});
    if (Pointer.nativeValue(p) == -1L) {
      throw new IllegalStateException("mmap of the io_uring ring failed: errno " + Native.getLastError());
    }
    return p;
  }

  /** IORING_REGISTER_BUFFERS of one buffer: the kernel pins its pages for writing. */
  void registerBuffer(long address, long length) {
    Memory iov = new Memory(16);
    iov.setLong(0, address);
    iov.setLong(8, length);
    long rc = syscall(SYS_IO_URING_REGISTER, (long) fd, (long) IORING_REGISTER_BUFFERS, iov, 1L);
    if (rc < 0) {
      throw new IllegalStateException("IORING_REGISTER_BUFFERS failed: errno " + Native.getLastError());
    }
    registered = true;
  }

  /** IORING_UNREGISTER_BUFFERS: the kernel drops its references. */
  void unregisterBuffers() {
    if (!registered) {
      return;
    }
    long rc = syscall(SYS_IO_URING_REGISTER, (long) fd, (long) IORING_UNREGISTER_BUFFERS, Pointer.NULL, 0L);
    if (rc < 0) {
      throw new IllegalStateException("IORING_UNREGISTER_BUFFERS failed: errno " + Native.getLastError());
    }
    registered = false;
  }

  /**
   * READ_FIXED of {@code length} bytes at {@code offset} of {@code fileFd} into the registered
   * buffer 0 at {@code address}, submitted and waited for; returns the completion's result
   * (bytes read, or -errno).
   */
  int readFixed(int fileFd, long address, int length, long offset) {
    int tail = sq.getInt(sqTail);
    int index = tail & sq.getInt(sqMask);
    Pointer sqe = sqes.share(64L * index);
    sqe.clear(64);
    sqe.setByte(0, (byte) IORING_OP_READ_FIXED);
    sqe.setInt(4, fileFd);
    sqe.setLong(8, offset);
    sqe.setLong(16, address);
    sqe.setInt(24, length);
    sqe.setLong(32, 0x5151L); // user_data
    sqe.setShort(40, (short) 0); // buf_index
    sq.setInt(sqArray + 4L * index, index);
    sq.setInt(sqTail, tail + 1); // the system call below orders it
    long rc = syscall(SYS_IO_URING_ENTER, (long) fd, 1L, 1L, (long) IORING_ENTER_GETEVENTS, Pointer.NULL, 0L);
    if (rc < 0) {
      throw new IllegalStateException("io_uring_enter failed: errno " + Native.getLastError());
    }
    int head = cq.getInt(cqHead);
    if (head == cq.getInt(cqTail)) {
      throw new IllegalStateException("io_uring_enter returned without a completion");
    }
    Pointer cqe = cq.share(cqes + 16L * (head & cq.getInt(cqMask)));
    long userData = cqe.getLong(0);
    int res = cqe.getInt(8);
    cq.setInt(cqHead, head + 1);
    if (userData != 0x5151L) {
      throw new IllegalStateException("unexpected completion " + userData);
    }
    return res;
  }

  /** open(path, O_RDONLY) through libc, for the ring to read from. */
  static int openReadOnly(Path path) {
    int fd = OPEN.invokeInt(new Object[] {path.toString(), 0});
    if (fd < 0) {
      throw new IllegalStateException("open " + path + ": errno " + Native.getLastError());
    }
    return fd;
  }

  static void closeFd(int fd) {
    CLOSE.invokeInt(new Object[] {fd});
  }

  @Override
  public void close() {
    try {
      unregisterBuffers();
    } finally {
      MUNMAP.invokeInt(new Object[] {sqes, sqesSize});
      if (!singleMmap) {
        MUNMAP.invokeInt(new Object[] {cq, cqSize});
      }
      MUNMAP.invokeInt(new Object[] {sq, sqSize});
      CLOSE.invokeInt(new Object[] {fd});
    }
  }
}

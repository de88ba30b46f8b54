package org.mpsprot;

/**
 * The operating system refused a request. The message says what was asked, what the OS said
 * (the errno name) and what to do (.req.errors). When this is thrown by {@link Prot#set} the
 * module's record of every page equals the OS's real protection: a failed request is
 * undone, never left half-applied (.sol.restore). (One exception, named by a suppressed
 * exception: when the undoing failed and the OS's protection could not even be read, the record
 * forbids no access the OS permits, and {@link Prot#sync()} makes them equal.) When it is thrown
 * by a harvest, no dirty page is lost: the next harvest reports every page written.
 */
public class ProtOsException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int errno;
  private final String errnoName;

  public ProtOsException(String message, int errno, String errnoName) {
    super(message);
    this.errno = errno;
    this.errnoName = errnoName;
  }

  /** The OS's error number (platform-specific). */
  public int errno() {
    return errno;
  }

  /** The symbolic name of {@link #errno()}, such as {@code ENOMEM}. */
  public String errnoName() {
    return errnoName;
  }
}

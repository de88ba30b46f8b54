package org.mpsprot.os.linux;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class ErrnoTest {
  @Test
  void linuxNamesIncludeTheClassicOnesAndItsOwn() {
    assertEquals("ENOMEM", Errno.name(12));
    assertEquals("EPERM", Errno.name(1));
    assertEquals("ENOSYS", Errno.name(38), "Linux's ENOSYS is 38");
    assertEquals("EOPNOTSUPP", Errno.name(95));
    assertEquals("errno 40", Errno.name(40), "40 is ELOOP on Linux, not listed");
  }
}

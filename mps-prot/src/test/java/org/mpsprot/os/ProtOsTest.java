package org.mpsprot.os;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.mpsprot.os.linux.LinuxProtOs;
import org.mpsprot.os.windows.WindowsProtOs;

/**
 * {@link ProtOs#current()} picks the implementation by os.name. The Windows and macOS cases fake
 * os.name for a moment, after JNA and the shim are loaded for the real OS: the choice reads
 * os.name on each call, and WindowsProtOs touches only the calls every shim shares until one of
 * its Windows-only methods runs, so its construction can be checked on Linux.
 */
class ProtOsTest {
  @Test
  void linuxGetsLinuxProtOs() {
    assumeTrue(System.getProperty("os.name").startsWith("Linux"));
    ProtOs os = ProtOs.current();
    assertInstanceOf(LinuxProtOs.class, os);
    assertInstanceOf(ShimProtOs.class, os);
    assertTrue(os.kernel().startsWith("Linux "), os.kernel());
  }

  private static <T> T withOsName(String name, Supplier<T> body) {
    ProtOs.current(); // JNA and the shim load for the real OS first
    String real = System.getProperty("os.name");
    System.setProperty("os.name", name);
    try {
      return body.get();
    } finally {
      System.setProperty("os.name", real);
    }
  }

  @Test
  void windowsGetsWindowsProtOs() {
    assumeTrue(System.getProperty("os.name").startsWith("Linux"));
    ProtOs os = withOsName("Windows 11", ProtOs::current);
    assertInstanceOf(WindowsProtOs.class, os);
    assertEquals("Windows " + System.getProperty("os.version"), os.kernel());
    assertEquals(ProtOs.current().pageSize(), os.pageSize());
  }

  @Test
  void macOsIsRefusedWithItsMessage() {
    assumeTrue(System.getProperty("os.name").startsWith("Linux"));
    UnsupportedOperationException e = withOsName("Mac OS X",
        () -> assertThrows(UnsupportedOperationException.class, ProtOs::current));
    assertTrue(e.getMessage().contains("os.name=Mac OS X"), e.getMessage());
    assertTrue(e.getMessage().contains("docs/design/os.md"), e.getMessage());
  }
}

package org.mpsprot.os;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.invoke.MethodHandle;
import org.junit.jupiter.api.Test;

/** On JDK 22+ (unless -Dmpsprot.backend=jna) the seam and the accessors run on FFM downcalls. */
class FfmBackendJdk22Test {
  @Test
  void theSeamAndTheAccessorsUseFfmDowncalls() throws Exception {
    assumeTrue(!"jna".equals(System.getProperty(NativeBackend.PROPERTY)), "JNA forced");
    assertEquals(NativeBackend.Kind.FFM, NativeBackend.current().kind(), NativeBackend.current().toString());
    assertEquals(FfmShimCalls.class, NativeBackend.current().calls().getClass());
    var field = org.mpsprot.Accessors.class.getDeclaredField("GET_U64");
    field.setAccessible(true);
    assertNotNull((MethodHandle) field.get(null), "Accessors.getLong must be an FFM downcall");
    // One copy of the shim: the FFM backend sees the regions the JNA-bound probes see.
    try (var r = org.mpsprot.Prot.setup().reserve(4096)) {
      assertEquals(r.base(), 0L + r.base());
      assertEquals(CommonShim.mpsprot_region_count(), NativeBackend.current().calls().regionCount());
    }
  }
}

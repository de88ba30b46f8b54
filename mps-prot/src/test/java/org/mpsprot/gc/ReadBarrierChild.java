package org.mpsprot.gc;

import com.sun.jna.Pointer;
import java.nio.ByteBuffer;

/**
 * Child JVM for {@link ReadBarrierTest}: flips a read-barrier heap, then reads the root
 * object's header with a plain Java (DirectByteBuffer) load instead of the accessors. The fault
 * is taken in Java state, so the module must refuse to park it (.rule.native) and fail fast.
 */
public final class ReadBarrierChild {
  private ReadBarrierChild() {}

  public static void main(String[] args) {
    Heap heap = Heap.readBarrier(PageScale.config(64 << 10, 1 << 20, 256 << 10, false), false);
    Handle a = heap.allocate(1, 0, 1);
    heap.collect(false);
    long address = heap.addressOf(a);
    ByteBuffer plain = new Pointer(address).getByteBuffer(0, 8);
    System.out.println("READY");
    System.out.flush();
    long header = plain.getLong(0);
    System.out.println("NOT REACHED " + header);
  }
}

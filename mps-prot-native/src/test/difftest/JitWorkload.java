import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A short workload whose JIT-compiled code is the difftest's HotSpot corpus (jitcorpus.sh):
 * the heap accesses Java code makes most -- fields of every primitive type and references,
 * arrays, float/double arithmetic, volatile fields, VarHandle and Atomic* atomics, array
 * copies and fills, collections, strings, allocation. Runs about a second.
 */
public class JitWorkload {
  static final class Node {
    byte b; short s; char c; int i; long l; float f; double d; Object ref; Node next;
    volatile long vl; volatile int vi; volatile Object vref;
  }

  static final VarHandle VL, VI, AL;
  static {
    try {
      VL = MethodHandles.lookup().findVarHandle(Node.class, "vl", long.class);
      VI = MethodHandles.lookup().findVarHandle(Node.class, "vi", int.class);
      AL = MethodHandles.arrayElementVarHandle(long[].class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  static long fields(Node[] nodes, int n) {
    long sum = 0;
    for (int k = 0; k < n; k++) {
      Node x = nodes[k % nodes.length];
      x.b++; x.s += 3; x.c ^= 5; x.i += k; x.l += x.i; x.f += 0.5f; x.d *= 1.0000001;
      x.ref = x.next; x.next = nodes[(k * 7) % nodes.length];
      sum += x.b + x.s + x.c + x.i + x.l + (long) x.f + (long) x.d + (x.ref == null ? 0 : 1);
    }
    return sum;
  }

  static double floats(double[] d, float[] f, int n) {
    double s = 0;
    for (int k = 0; k < n; k++) {
      int j = k % d.length;
      d[j] = d[j] * 0.999 + f[j];
      f[j] = (float) (f[j] + d[(j * 3) % d.length]);
      s += d[j] - f[j];
    }
    return s;
  }

  static long arrays(long[] l, int[] a, short[] s, byte[] b, char[] c, int n) {
    long sum = 0;
    for (int k = 0; k < n; k++) {
      int j = k % a.length;
      a[j] += k; l[j] -= a[j]; s[j] |= (short) k; b[j] &= (byte) k; c[j] = (char) (c[j] + 1);
      sum += l[j] + a[j] + s[j] + b[j] + c[j];
      if (a[j] > l.length) sum++;
    }
    return sum;
  }

  static long atomics(Node x, long[] arr, AtomicLong al, AtomicInteger ai, int n) {
    long sum = 0;
    for (int k = 0; k < n; k++) {
      x.vl = k; x.vi = k; x.vref = arr;
      sum += x.vl + x.vi;
      sum += (long) VL.getAndAdd(x, 1L);
      VL.compareAndSet(x, (long) k, (long) (k + 1));
      VI.getAndSet(x, k);
      sum += (long) VL.getVolatile(x);
      VL.setVolatile(x, sum);
      VL.setRelease(x, sum + 1);
      sum += (long) VL.getAcquire(x);
      AL.getAndAdd(arr, k % arr.length, 2L);
      AL.compareAndSet(arr, k % arr.length, 0L, 1L);
      sum += al.incrementAndGet() + ai.getAndIncrement();
      al.compareAndSet(k, k + 1);
    }
    return sum;
  }

  static long bulk(long[] src, long[] dst, byte[] bs, byte[] bd, int n) {
    long sum = 0;
    for (int k = 0; k < n; k++) {
      System.arraycopy(src, 0, dst, k % 16, src.length - 16);
      System.arraycopy(bs, k % 8, bd, 0, bs.length - 8);
      Arrays.fill(dst, 0, 32, k);
      sum += dst[k % dst.length] + bd[k % bd.length] + Arrays.hashCode(bs);
      sum += Arrays.equals(bs, bd) ? 1 : 0;
      long[] copy = Arrays.copyOf(src, 64);
      sum += copy[k % 64];
    }
    return sum;
  }

  static long collections(int n) {
    Map<String, Integer> m = new HashMap<>();
    List<Long> list = new ArrayList<>();
    long sum = 0;
    for (int k = 0; k < n; k++) {
      String key = "k" + (k % 500);
      m.merge(key, 1, Integer::sum);
      list.add((long) k);
      if (list.size() > 1000) list.clear();
      sum += m.get(key) + key.length() + key.hashCode();
      StringBuilder sb = new StringBuilder();
      sb.append(k).append(':').append(key);
      sum += sb.toString().indexOf(':');
    }
    return sum;
  }

  public static void main(String[] args) {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    Node[] nodes = new Node[64];
    for (int k = 0; k < nodes.length; k++) nodes[k] = new Node();
    double[] d = new double[1024];
    float[] f = new float[1024];
    long[] l = new long[1024];
    int[] a = new int[1024];
    short[] s = new short[1024];
    byte[] b = new byte[1024];
    char[] c = new char[1024];
    long[] dst = new long[1024];
    byte[] bd = new byte[1024];
    AtomicLong al = new AtomicLong();
    AtomicInteger ai = new AtomicInteger();
    long sum = 0;
    for (int r = 0; r < rounds; r++) {
      sum += fields(nodes, 5000);
      sum += (long) floats(d, f, 5000);
      sum += arrays(l, a, s, b, c, 5000);
      sum += atomics(nodes[r % 64], l, al, ai, 2000);
      sum += bulk(l, dst, b, bd, 100);
      sum += collections(500);
    }
    System.out.println("JitWorkload " + sum);
  }
}

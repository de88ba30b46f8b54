package org.mpsprot.core;

import java.nio.ByteBuffer;
import org.mpsprot.AccessSet;
import org.mpsprot.MutatorFaultContext;
import org.mpsprot.Region;
import org.mpsprot.StepResult;
import org.mpsprot.os.ProtOs;

/**
 * A {@link MutatorFaultContext} over the shim's {@code struct mpsprot_context} (mpsprot.h), read
 * through a direct buffer at the header's offsets. Valid until {@link #invalidate()}.
 */
final class ContextImpl implements MutatorFaultContext {
  static final int SIZE = 2440;
  private static final int ADDRESS = 0;
  private static final int PC = 8;
  private static final int SP = 16;
  private static final int ACCESS = 24;
  private static final int SLOT = 28;
  private static final int TID = 32;
  private static final int INSN_LEN = 40;
  private static final int FLAGS = 44;
  private static final int REGS = 48;
  private static final int INSN = 304;
  static final int FLAG_NATIVE = 1;
  static final int FLAG_STEPPED = 2;
  /** mpsprot.h MPSPROT_CTX_TRAMP: the thread was inside Prot.tramp when it faulted. */
  static final int FLAG_TRAMP = 32;

  private final ProtOs os;
  private final long address;
  private final ByteBuffer ctx;
  private final Region region;
  private boolean valid = true;

  ContextImpl(ProtOs os, long address, ByteBuffer ctx, Region region) {
    this.os = os;
    this.address = address;
    this.ctx = ctx;
    this.region = region;
  }

  static int slot(ByteBuffer ctx) {
    return ctx.getInt(SLOT);
  }

  void invalidate() {
    valid = false;
  }

  private void check() {
    if (!valid) {
      throw new IllegalStateException("the fault context is used after its handler returned: the mutator has resumed");
    }
  }

  @Override
  public long address() {
    check();
    return ctx.getLong(ADDRESS);
  }

  @Override
  public AccessSet access() {
    check();
    return AccessSet.fromBits(ctx.getInt(ACCESS));
  }

  @Override
  public Region region() {
    check();
    return region;
  }

  @Override
  public long pc() {
    check();
    return ctx.getLong(PC);
  }

  @Override
  public long sp() {
    check();
    return ctx.getLong(SP);
  }

  @Override
  public long register(int i) {
    check();
    if (i < 0 || i >= 32) {
      throw new IndexOutOfBoundsException("register " + i + ": allowed 0 to 31");
    }
    return ctx.getLong(REGS + 8 * i);
  }

  @Override
  public byte[] instructionBytes() {
    check();
    byte[] b = new byte[Math.max(0, Math.min(16, ctx.getInt(INSN_LEN)))];
    ctx.get(INSN, b, 0, b.length);
    return b;
  }

  @Override
  public int threadId() {
    check();
    return ctx.getInt(TID);
  }

  @Override
  public boolean nativeState() {
    check();
    return (ctx.getInt(FLAGS) & FLAG_NATIVE) != 0;
  }

  @Override
  public boolean registeredMutator() {
    check();
    return (ctx.getInt(FLAGS) & FLAG_TRAMP) != 0;
  }

  boolean stepped() {
    return (ctx.getInt(FLAGS) & FLAG_STEPPED) != 0;
  }

  @Override
  public boolean canStepInstruction() {
    check();
    return !stepped() && os.canStep(address) == 1;
  }

  /**
   * One step per fault: once stepped, the saved pc is past the faulting instruction, so a
   * second step would emulate the next one too. It is refused here and by the shim
   * (mpsprot_context_step answers EALREADY), and nothing changes.
   */
  @Override
  public StepResult stepInstruction() {
    check();
    if (stepped()) {
      return StepResult.UNIMPLEMENTED;
    }
    return os.step(address) == 0 ? StepResult.OK : StepResult.UNIMPLEMENTED;
  }

  @Override
  public String toString() {
    if (!valid) {
      return "MutatorFaultContext(resumed)";
    }
    return String.format("fault at 0x%x (%s) in region %s by thread %d%s, pc 0x%x, %s state",
        address(), access(), region, threadId(), registeredMutator() ? " (inside Prot.tramp)" : "",
        pc(), nativeState() ? "native" : "Java");
  }
}

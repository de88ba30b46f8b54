package org.mpsprot;

/**
 * A parked mutator's fault (MPS: MutatorFaultContext, design/prmc.txt): where it faulted, what
 * it tried, and its registers, as the handler captured them. Handed to a {@link FaultHandler};
 * valid only during that call (afterwards every method throws {@link IllegalStateException}).
 * Not thread-safe: use it on the barrier thread that received it.
 */
public interface MutatorFaultContext {
  /** The exact address the mutator accessed (not rounded to a page). */
  long address();

  /**
   * The access that faulted: {@link AccessSet#READ} or {@link AccessSet#WRITE}, or
   * {@link AccessSet#ALL} where the CPU does not say (as MPS assumes on Linux).
   */
  AccessSet access();

  /** The region the address lies in. */
  Region region();

  /** The program counter of the faulting instruction. */
  long pc();

  /** The stack pointer. */
  long sp();

  /**
   * General register {@code i}. x86-64: 0..15 in encoding order (rax, rcx, rdx, rbx, rsp, rbp,
   * rsi, rdi, r8..r15), 16 = rflags. aarch64: 0..30 = x0..x30, 31 = sp.
   */
  long register(int i);

  /** The instruction bytes at {@link #pc()} that could be read (up to 16). */
  byte[] instructionBytes();

  /** The kernel thread id of the faulting thread. */
  int threadId();

  /** Whether the fault was taken in native state (an accessor or a native mutator). */
  boolean nativeState();

  /**
   * Whether the faulting thread was a registered mutator, inside {@link Prot#tramp} (or C's
   * {@code mpsprot_mutator_enter}), when it faulted: the handler reads the registration
   * (docs/design/prot.md .if.tramp). A collector may use it to tell its mutators' faults from
   * other threads' (its own helpers touching the mutator's view by mistake, say); the module's
   * policies do not depend on it.
   */
  boolean registeredMutator();

  /**
   * ProtCanStepInstruction: whether {@link #stepInstruction()} can emulate the instruction.
   * False once the instruction was stepped (one step per fault).
   */
  boolean canStepInstruction();

  /**
   * ProtStepInstruction: emulates the instruction through the alias view and advances the saved
   * program counter, so that the resumed mutator does not execute it again.
   *
   * <p>One step per fault: after a step that returned {@link StepResult#OK}, every further call
   * returns {@link StepResult#UNIMPLEMENTED} and changes nothing (the saved program counter
   * already points past the faulting instruction; stepping again would emulate an instruction
   * the mutator never reached, and the resumed mutator would skip it). It does not throw, so a
   * handler that asks twice still resumes the mutator correctly after the first step.
   *
   * @return {@link StepResult#OK} if the instruction was emulated now;
   *     {@link StepResult#UNIMPLEMENTED} if it cannot be stepped or was stepped already (then
   *     nothing changed)
   * @throws IllegalStateException if the handler has returned (the context is no longer valid)
   */
  StepResult stepInstruction();
}

package org.mpsprot;

/** The outcome of {@link MutatorFaultContext#stepInstruction()}: MPS's ResOK or ResUNIMPL. */
public enum StepResult {
  /** Emulated: resuming the mutator continues after the instruction. */
  OK,
  /** The instruction cannot be stepped, or was stepped already for this fault; nothing changed. */
  UNIMPLEMENTED
}

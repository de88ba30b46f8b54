package org.mpsprot.check;

/**
 * Summary of a successful property check.
 *
 * @param property  the property name
 * @param sequences the number of sequences run ({@link StatefulProperty}) or values checked
 *                  ({@link Property})
 * @param actions   the total number of actions run ({@link StatefulProperty}); for
 *                  {@link Property}, equal to {@code sequences}
 * @param seed      the base seed, or the replayed sequence seed when {@code replay} is true
 * @param replay    whether a single sequence was replayed from {@code -Dmpsprot.check.seed}
 */
public record Result(String property, int sequences, long actions, long seed, boolean replay) {}

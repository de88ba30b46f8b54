package org.mpsprot.check;

import java.lang.reflect.Method;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestExecutionExceptionHandler;

/**
 * The JUnit 5 extension behind {@link PropertyCheck}: resolves the {@link PropertyChecker}
 * parameter and, when a property fails, rethrows its {@link PropertyFailure} with the replay
 * hint completed by the annotation attribute ({@code @PropertyCheck(replay = S)}) and publishes
 * the failing seed as the report entry {@code mpsprot.check.failedSeed}. Needs
 * junit-jupiter-api (a provided dependency of mps-prot: see {@link PropertyCheck}).
 */
public final class PropertyCheckExtension implements ParameterResolver, TestExecutionExceptionHandler {
  /** Creates the extension (JUnit does, through {@link PropertyCheck}'s {@code @ExtendWith}). */
  public PropertyCheckExtension() {}

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == PropertyChecker.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return new PropertyChecker(settings(context), context::publishReportEntry);
  }

  @Override
  public void handleTestExecutionException(ExtensionContext context, Throwable thrown) throws Throwable {
    if (!(thrown instanceof PropertyFailure f)) {
      throw thrown;
    }
    context.publishReportEntry("mpsprot.check.failedSeed", Long.toString(f.seed()));
    String method = context.getTestMethod().map(Method::getName).orElse("the test method");
    String text = f.getMessage() + "\n  or in the test: @PropertyCheck(replay = " + f.seed() + "L) on " + method;
    PropertyFailure hinted = new PropertyFailure(f.property(), f.seed(), text, f.getCause(), f.counterexample(),
        f.originalSize());
    hinted.setStackTrace(f.getStackTrace());
    for (Throwable s : f.getSuppressed()) {
      hinted.addSuppressed(s);
    }
    throw hinted;
  }

  private static PropertyCheck settings(ExtensionContext context) {
    PropertyCheck a = context.getRequiredTestMethod().getAnnotation(PropertyCheck.class);
    if (a == null) {
      throw new ParameterResolutionException("a PropertyChecker parameter needs @PropertyCheck on the method "
          + context.getRequiredTestMethod());
    }
    return a;
  }
}

package org.mpsprot.testing;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A strict RFC 8259 JSON parser for tests: one value, surrounded only by whitespace. Objects
 * become {@link LinkedHashMap} (a duplicate key is refused), arrays {@link List}, strings
 * {@link String}, numbers {@link Long} when integral else {@link Double}, true/false
 * {@link Boolean}, null {@code null}. Refuses what RFC 8259 refuses: trailing commas, single
 * quotes, unescaped control characters, leading zeros, bare words, NaN, trailing text.
 */
public final class StrictJson {
  private final String s;
  private int at;

  private StrictJson(String s) {
    this.s = s;
  }

  /** The value {@code text} holds; {@link IllegalArgumentException} naming the offset otherwise. */
  public static Object parse(String text) {
    StrictJson p = new StrictJson(text);
    p.ws();
    Object v = p.value();
    p.ws();
    if (p.at != text.length()) {
      throw p.fail("text after the value");
    }
    return v;
  }

  private IllegalArgumentException fail(String what) {
    int from = Math.max(0, at - 20);
    int to = Math.min(s.length(), at + 20);
    return new IllegalArgumentException("invalid JSON at offset " + at + ": " + what + " near '"
        + s.substring(from, to) + "'");
  }

  private void ws() {
    while (at < s.length() && " \t\r\n".indexOf(s.charAt(at)) >= 0) {
      at++;
    }
  }

  private char peek() {
    if (at >= s.length()) {
      throw fail("unexpected end");
    }
    return s.charAt(at);
  }

  private void expect(char c) {
    if (peek() != c) {
      throw fail("expected '" + c + "'");
    }
    at++;
  }

  private Object value() {
    char c = peek();
    switch (c) {
      case '{':
        return object();
      case '[':
        return array();
      case '"':
        return string();
      case 't':
        return word("true", Boolean.TRUE);
      case 'f':
        return word("false", Boolean.FALSE);
      case 'n':
        return word("null", null);
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return number();
        }
        throw fail("unexpected character");
    }
  }

  private Object word(String w, Object v) {
    if (!s.startsWith(w, at)) {
      throw fail("expected " + w);
    }
    at += w.length();
    return v;
  }

  private Map<String, Object> object() {
    expect('{');
    Map<String, Object> m = new LinkedHashMap<>();
    ws();
    if (peek() == '}') {
      at++;
      return m;
    }
    while (true) {
      ws();
      if (peek() != '"') {
        throw fail("expected a string key");
      }
      String k = string();
      ws();
      expect(':');
      ws();
      if (m.containsKey(k)) {
        throw fail("duplicate key " + k);
      }
      m.put(k, value());
      ws();
      if (peek() == ',') {
        at++;
        continue;
      }
      expect('}');
      return m;
    }
  }

  private List<Object> array() {
    expect('[');
    List<Object> l = new ArrayList<>();
    ws();
    if (peek() == ']') {
      at++;
      return l;
    }
    while (true) {
      ws();
      l.add(value());
      ws();
      if (peek() == ',') {
        at++;
        continue;
      }
      expect(']');
      return l;
    }
  }

  private String string() {
    expect('"');
    StringBuilder b = new StringBuilder();
    while (true) {
      char c = peek();
      at++;
      if (c == '"') {
        return b.toString();
      }
      if (c < 0x20) {
        at--;
        throw fail("unescaped control character");
      }
      if (c != '\\') {
        b.append(c);
        continue;
      }
      char e = peek();
      at++;
      switch (e) {
        case '"', '\\', '/' -> b.append(e);
        case 'b' -> b.append('\b');
        case 'f' -> b.append('\f');
        case 'n' -> b.append('\n');
        case 'r' -> b.append('\r');
        case 't' -> b.append('\t');
        case 'u' -> {
          if (at + 4 > s.length()) {
            throw fail("short \\u escape");
          }
          for (int i = 0; i < 4; i++) {
            if (Character.digit(s.charAt(at + i), 16) < 0) {
              throw fail("bad \\u escape");
            }
          }
          b.append((char) Integer.parseInt(s.substring(at, at + 4), 16));
          at += 4;
        }
        default -> {
          at--;
          throw fail("bad escape");
        }
      }
    }
  }

  private Object number() {
    int start = at;
    if (peek() == '-') {
      at++;
    }
    if (peek() == '0') {
      at++;
      if (at < s.length() && Character.isDigit(s.charAt(at))) {
        throw fail("leading zero");
      }
    } else {
      digits();
    }
    boolean integral = true;
    if (at < s.length() && s.charAt(at) == '.') {
      at++;
      digits();
      integral = false;
    }
    if (at < s.length() && (s.charAt(at) == 'e' || s.charAt(at) == 'E')) {
      at++;
      if (at < s.length() && (s.charAt(at) == '+' || s.charAt(at) == '-')) {
        at++;
      }
      digits();
      integral = false;
    }
    String n = s.substring(start, at);
    return integral ? (Object) Long.parseLong(n) : (Object) Double.parseDouble(n);
  }

  private void digits() {
    int from = at;
    while (at < s.length() && s.charAt(at) >= '0' && s.charAt(at) <= '9') {
      at++;
    }
    if (at == from) {
      throw fail("expected a digit");
    }
  }
}

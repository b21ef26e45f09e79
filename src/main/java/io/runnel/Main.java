package io.runnel;

public final class Main {
    public static void main(String[] args) {
    }
}

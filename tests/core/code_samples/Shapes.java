package shapes;

import java.util.List;

public class Shapes {
    interface Shape {
        double area();
    }

    enum Color {
        RED,
        GREEN
    }

    record Point(int x, int y) {}

    private final List<Shape> shapes;

    public Shapes(List<Shape> shapes) {
        this.shapes = shapes;
    }

    public double totalArea() {
        return shapes.stream().mapToDouble(Shape::area).sum();
    }
}

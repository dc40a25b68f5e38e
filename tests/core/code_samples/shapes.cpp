#include <cmath>

namespace shapes {

class Shape {
public:
    virtual ~Shape() = default;
    virtual double area() const = 0;
};

class Circle : public Shape {
public:
    explicit Circle(double r) : radius_(r) {}
    double area() const override {
        return M_PI * radius_ * radius_;
    }

private:
    double radius_;
};

struct Point {
    int x;
    int y;
};

enum class Color { Red, Green };

using Meters = double;

double total(const Shape &a, const Shape &b)
{
    return a.area() + b.area();
}

}  // namespace shapes

#include <math.h>

#define SQUARE(x) ((x) * (x))

struct circle {
    double radius;
};

typedef struct {
    double side;
} square_t;

enum color {
    RED,
    GREEN,
};

double circle_area(const struct circle *c)
{
    return M_PI * SQUARE(c->radius);
}

static struct circle *make_circle(double radius)
{
    static struct circle c;
    c.radius = radius;
    return &c;
}

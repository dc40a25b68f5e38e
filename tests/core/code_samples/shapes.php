<?php

namespace App\Shapes;

interface Shape
{
    public function area(): float;
}

trait Named
{
    public function name(): string
    {
        return static::class;
    }
}

enum Color
{
    case Red;
    case Green;
}

class Circle implements Shape
{
    use Named;

    public function __construct(private float $radius)
    {
    }

    public function area(): float
    {
        return M_PI * $this->radius ** 2;
    }
}

function make_circle(float $radius): Circle
{
    return new Circle($radius);
}

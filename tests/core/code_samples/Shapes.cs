using System;

namespace Shapes
{
    public interface IShape
    {
        double Area();
    }

    public struct Point
    {
        public int X;
        public int Y;
    }

    public enum Color
    {
        Red,
        Green,
    }

    public class Circle : IShape
    {
        public double Radius { get; set; }

        public Circle(double radius)
        {
            Radius = radius;
        }

        public double Area()
        {
            return Math.PI * Radius * Radius;
        }
    }
}

import React from "react";

interface ButtonProps {
  label: string;
}

export function Button({ label }: ButtonProps) {
  return (
    <button className="btn">
      {label}
    </button>
  );
}

export const IconButton = (props: ButtonProps) => {
  return <Button label={props.label} />;
};

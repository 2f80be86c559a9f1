from .cli import run

if __name__ == "__main__":  # not when multiprocessing's spawn re-imports it in a child (rigfit bench's timing)
    run()
